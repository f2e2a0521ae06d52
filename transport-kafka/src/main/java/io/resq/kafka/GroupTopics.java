package io.resq.kafka;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Names of the per-group retry topics, which must be legal Kafka topic names whatever the group is called. */
final class GroupTopics {

    /** Kafka's longest topic name. */
    static final int MAX_TOPIC_LENGTH = 249;
    /** The longest a group's retry topic name may be, leaving room for a delay tier's suffix. */
    private static final int MAX_BASE_LENGTH = MAX_TOPIC_LENGTH - DelayTiers.MAX_SUFFIX_LENGTH;
    private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]+");
    private static final Pattern ILLEGAL_CHAR = Pattern.compile("[^a-zA-Z0-9._-]");
    /** Hex digits of the hash that tells apart groups whose names had to be changed. */
    private static final int HASH_CHARS = 12;

    private GroupTopics() {
    }

    /**
     * {@code <retryTopic>-<group>} when that is a legal topic name with room for a delay tier's suffix; otherwise the group's illegal
     * characters become {@code _}, the name is cut to fit, and a hash of the real group name is
     * appended, so two groups never share a retry topic.
     */
    static String retryTopic(String retryTopic, String group) {
        String plain = retryTopic + "-" + group;
        if (LEGAL.matcher(group).matches() && plain.length() <= MAX_BASE_LENGTH) {
            return plain;
        }
        String hash = "-" + sha256Hex(group).substring(0, HASH_CHARS);
        String readable = ILLEGAL_CHAR.matcher(group).replaceAll("_");
        int room = MAX_BASE_LENGTH - retryTopic.length() - 1 - hash.length();
        if (room < 0) {
            throw new IllegalArgumentException("retry topic '" + retryTopic + "' leaves no room for a group suffix; "
                    + "use a shorter queue name (at most " + (MAX_BASE_LENGTH - 1 - hash.length() - 1) + " characters with the suffix)");
        }
        return retryTopic + "-" + readable.substring(0, Math.min(readable.length(), room)) + hash;
    }

    private static String sha256Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }
}
