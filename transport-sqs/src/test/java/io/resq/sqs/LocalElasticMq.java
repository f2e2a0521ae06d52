package io.resq.sqs;

/**
 * Starts an in-memory ElasticMQ on 127.0.0.1:9324 (or the port given as argument) and keeps it
 * running, for the example and the benchmark when no SQS endpoint is at hand:
 * {@code mvn -q -pl transport-sqs exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.resq.sqs.LocalElasticMq}.
 */
public final class LocalElasticMq {

    private LocalElasticMq() {
    }

    /** Args: optional port (default 9324). */
    public static void main(String[] args) throws InterruptedException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 9324;
        ElasticMq.start(port);
        System.out.println("ElasticMQ listening on http://127.0.0.1:" + port);
        Thread.sleep(Long.MAX_VALUE);
    }
}
