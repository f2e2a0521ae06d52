package io.resq.benchmarks;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;

/**
 * The payload every core benchmark moves: a small order of about 240 bytes of JSON, the size of a
 * typical domain event. resq and the plain baselines carry the very same instances, and both use
 * {@link #mapper()}, so a ratio measures resq's envelope, channels and acks rather than a
 * difference in Jackson configuration.
 *
 * @param id         order number
 * @param customer   customer reference
 * @param currency   ISO currency code
 * @param totalCents order total in cents
 * @param lines      order lines
 */
public record CoreOrder(long id, String customer, String currency, long totalCents, List<Line> lines) {

    /**
     * One order line.
     *
     * @param sku        article number
     * @param quantity   how many
     * @param priceCents unit price in cents
     */
    public record Line(String sku, int quantity, long priceCents) {
    }

    /** A realistic order numbered {@code id}; three lines, so the JSON is about 240 bytes. */
    public static CoreOrder sample(long id) {
        List<Line> lines = List.of(
                new Line("SKU-10042-BLK", 2, 1_999),
                new Line("SKU-20817-XL", 1, 4_550),
                new Line("SKU-33001", 5, 299));
        long total = lines.stream().mapToLong(l -> l.quantity() * l.priceCents()).sum();
        return new CoreOrder(id, "customer-" + (id % 1_000), "EUR", total, List.copyOf(lines));
    }

    /** {@code n} distinct sample orders, numbered from 1. */
    public static CoreOrder[] samples(int n) {
        CoreOrder[] out = new CoreOrder[n];
        for (int i = 0; i < n; i++) {
            out[i] = sample(i + 1L);
        }
        return out;
    }

    /**
     * A new mapper configured as resq's default one is (unknown fields ignored), given to resq
     * through {@code Queues.builder(...).objectMapper(...)} and used directly by the baselines.
     */
    public static ObjectMapper mapper() {
        return new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }
}
