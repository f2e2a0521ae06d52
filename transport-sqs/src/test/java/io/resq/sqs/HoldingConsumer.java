package io.resq.sqs;

import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * A consumer in a child JVM that receives messages and never settles them, so a test can kill it
 * (SIGKILL: no release, no ack, no heartbeat) and watch the visibility timeout bring them back.
 * Prints "held &lt;id&gt;" per message and "done" once it holds {@code count}.
 */
public final class HoldingConsumer {

    private HoldingConsumer() {
    }

    /** Args: endpoint, queue, visibility timeout in seconds, how many messages to hold. */
    public static void main(String[] args) throws Exception {
        String endpoint = args[0];
        String queue = args[1];
        int visibility = Integer.parseInt(args[2]);
        int count = Integer.parseInt(args[3]);
        SqsClient client = ElasticMq.client(endpoint);
        SqsTransport transport = SqsTransport.builder(client).visibilityTimeout(Duration.ofSeconds(visibility)).build();
        Receiver r = transport.receiver(queue, new ReceiverOptions("dead", 10));
        List<Delivery> held = new ArrayList<>();
        while (held.size() < count) {
            for (Delivery d : r.poll(count - held.size(), Duration.ofSeconds(1))) {
                held.add(d);
                System.out.println("held " + d.id());
            }
        }
        System.out.println("done");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    /** A running child JVM. */
    static final class Child {
        final Process process;
        final List<String> held = new ArrayList<>();

        private Child(Process process) {
            this.process = process;
        }

        /** Starts the child and waits until it holds {@code count} messages; returns what it holds. */
        static Child start(String endpoint, String queue, int visibilitySeconds, int count) throws IOException, InterruptedException {
            String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), HoldingConsumer.class.getName(),
                    endpoint, queue, Integer.toString(visibilitySeconds), Integer.toString(count))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            Child c = new Child(p);
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null && !line.equals("done")) {
                if (line.startsWith("held ")) {
                    c.held.add(line.substring(5));
                }
            }
            if (line == null) {
                throw new IllegalStateException("the holding consumer exited early with " + p.waitFor());
            }
            return c;
        }

        /** SIGKILL: the consumer gets no chance to release anything. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
