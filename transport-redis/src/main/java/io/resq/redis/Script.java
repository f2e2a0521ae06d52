package io.resq.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * A Lua script run by its SHA-1 ({@code EVALSHA}), falling back to {@code EVAL} when the server
 * does not know it yet (first use, or after a restart emptied the script cache).
 */
final class Script {

    private final byte[] source;
    private final byte[] sha;

    Script(String source) {
        this.source = source.getBytes(StandardCharsets.UTF_8);
        this.sha = sha1Hex(this.source).getBytes(StandardCharsets.US_ASCII);
    }

    /** The Lua source, as {@code EVAL} and {@code SCRIPT LOAD} take it. */
    String source() {
        return new String(source, StandardCharsets.UTF_8);
    }

    /** Runs the script atomically on the server that holds {@code keys}. */
    Object run(UnifiedJedis client, List<byte[]> keys, List<byte[]> args) {
        try {
            return client.evalsha(sha, keys, args);
        } catch (JedisNoScriptException e) {
            return client.eval(source, keys, args);
        }
    }

    /**
     * Queues the script on {@code pipeline}: by its SHA-1, or with its source when
     * {@code withSource} (after the server answered NOSCRIPT, see {@link #isNoScript}). A script
     * refused as unknown did not run, so running it again with its source is safe.
     */
    Response<Object> queue(AbstractPipeline pipeline, List<byte[]> keys, List<byte[]> args, boolean withSource) {
        return withSource ? pipeline.eval(source, keys, args) : pipeline.evalsha(sha, keys, args);
    }

    /** True when the reply says the server does not know the script (first use, restart, SCRIPT FLUSH). */
    static boolean isNoScript(JedisDataException e) {
        return e instanceof JedisNoScriptException || (e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT"));
    }

    private static String sha1Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required by the Java platform", e);
        }
    }
}
