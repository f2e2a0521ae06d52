package io.resq.sqs;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import org.elasticmq.server.ElasticMQServer;
import org.elasticmq.server.config.ElasticMQServerConfig;
import scala.Function0;

/**
 * An ElasticMQ in this JVM that keeps queues and messages in an H2 file, so it can be stopped and
 * started again on the same port with its messages: a broker restart for fault tests.
 */
final class RestartableElasticMq implements AutoCloseable {

    private final int port;
    private final Config config;
    private Function0<?> stop;

    RestartableElasticMq(Path dataDir) {
        this.port = ElasticMq.freePort();
        this.config = ConfigFactory.parseString(String.join("\n",
                        "node-address { protocol = http, host = \"127.0.0.1\", port = " + port + ", context-path = \"\" }",
                        "rest-sqs { enabled = true, bind-port = " + port + ", bind-hostname = \"127.0.0.1\", sqs-limits = strict }",
                        "rest-stats { enabled = false }",
                        "generate-node-address = false",
                        "messages-storage { enabled = true, uri = \"jdbc:h2:" + dataDir.resolve("elasticmq").toAbsolutePath() + "\" }"))
                .withFallback(ConfigFactory.load())
                .resolve();
    }

    String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    synchronized void start() throws InterruptedException {
        stop = new ElasticMQServer(new ElasticMQServerConfig(config)).start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("ElasticMQ did not start on port " + port);
    }

    synchronized void stop() {
        if (stop != null) {
            stop.apply();
            stop = null;
        }
    }

    @Override
    public void close() {
        stop();
    }
}
