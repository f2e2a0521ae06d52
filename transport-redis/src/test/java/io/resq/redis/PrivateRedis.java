package io.resq.redis;

import io.resq.testkit.Brokers;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import redis.clients.jedis.Jedis;

/**
 * A redis-server of the test's own, on a free port with an append-only file fsynced on every
 * write, so it can be killed with SIGKILL and restarted on the same data without disturbing the
 * shared Redis. Missing binary: the test is skipped, or fails under {@code CI=true}. A replica of
 * such a server ({@link #startReplicaOf}) keeps no files and is stopped the same way.
 */
final class PrivateRedis implements AutoCloseable {

    private final Path dir;
    private final int port;
    private final List<String> persistence;
    private Process process;

    private PrivateRedis(Path dir, int port, List<String> persistence) {
        this.dir = dir;
        this.port = port;
        this.persistence = persistence;
    }

    static PrivateRedis start() throws Exception {
        requireBinary();
        PrivateRedis redis = new PrivateRedis(Files.createTempDirectory("resq-redis-fault"), freePort(),
                // No 5 s pause before the first sync of a replica (Redis 7's default diskless-sync delay).
                List.of("--appendonly", "yes", "--appendfsync", "always", "--repl-diskless-sync-delay", "0"));
        redis.startProcess();
        return redis;
    }

    /** A replica of {@code master} without persistence; returns once its replication link is up. */
    static PrivateRedis startReplicaOf(PrivateRedis master) throws Exception {
        requireBinary();
        PrivateRedis replica = new PrivateRedis(Files.createTempDirectory("resq-redis-replica"), freePort(),
                List.of("--appendonly", "no", "--replicaof", "127.0.0.1", Integer.toString(master.port)));
        replica.startProcess();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            try (Jedis j = new Jedis("127.0.0.1", replica.port, 500)) {
                if (j.info("replication").contains("master_link_status:up")) {
                    return replica;
                }
            }
            Thread.sleep(50);
        }
        replica.close();
        throw new IllegalStateException("replica on port " + replica.port + " did not connect to its master in 20 s");
    }

    private static void requireBinary() {
        if (binary() == null) {
            Brokers.missing("redis-server is not on the PATH; install it (apt-get install redis-server) to run the fault tests.");
        }
    }

    String uri() {
        return "redis://127.0.0.1:" + port;
    }

    int port() {
        return port;
    }

    /** SIGKILL: no shutdown, no final save; only what the AOF already holds survives. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Starts again on the same port and data directory. */
    void restart() throws Exception {
        startProcess();
    }

    private void startProcess() throws Exception {
        List<String> command = new ArrayList<>(List.of(binary(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--dir", dir.toString(), "--save", "", "--protected-mode", "no"));
        command.addAll(persistence);
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("redis.log").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            try (Jedis j = new Jedis("127.0.0.1", port, 500)) {
                if ("PONG".equals(j.ping())) {
                    return;
                }
            } catch (RuntimeException e) {
                // loading the AOF or not listening yet
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("private redis-server on port " + port + " did not answer in 20 s; see " + dir.resolve("redis.log"));
    }

    @Override
    public void close() throws IOException {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String binary() {
        for (String d : List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))) {
            File f = new File(d, "redis-server");
            if (f.canExecute()) {
                return f.getPath();
            }
        }
        return null;
    }
}
