package io.resq.kafka;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The SPI's read-only view of a record's headers: names and values in two arrays, in the order the
 * record carries them. A record has a handful of headers, and one such map is made for every
 * record received, where a {@code LinkedHashMap} (its table, an entry per header, a wrapper) was
 * a tenth of what the receiving side allocated per message, measured.
 *
 * <p>Immutable once built; safe to share between threads.
 */
final class HeaderMap extends AbstractMap<String, String> {

    private static final HeaderMap EMPTY = new HeaderMap(new String[0], new String[0], 0);

    private final String[] names;
    private final String[] values;
    private final int size;

    private HeaderMap(String[] names, String[] values, int size) {
        this.names = names;
        this.values = values;
        this.size = size;
    }

    static HeaderMap empty() {
        return EMPTY;
    }

    /** Collects up to {@code capacity} headers; a repeated name keeps its place and takes the last value. */
    static final class Builder {
        private final String[] names;
        private final String[] values;
        private int size;

        Builder(int capacity) {
            names = new String[capacity];
            values = new String[capacity];
        }

        Builder put(String name, String value) {
            for (int i = 0; i < size; i++) {
                if (names[i].equals(name)) {
                    values[i] = value;
                    return this;
                }
            }
            names[size] = name;
            values[size] = value;
            size++;
            return this;
        }

        HeaderMap build() {
            return size == 0 ? EMPTY : new HeaderMap(names, values, size);
        }
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean containsKey(Object key) {
        return indexOf(key) >= 0;
    }

    @Override
    public String get(Object key) {
        int i = indexOf(key);
        return i < 0 ? null : values[i];
    }

    private int indexOf(Object key) {
        for (int i = 0; i < size; i++) {
            if (names[i].equals(key)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public void forEach(BiConsumer<? super String, ? super String> action) {
        for (int i = 0; i < size; i++) {
            action.accept(names[i], values[i]);
        }
    }

    @Override
    public Set<Entry<String, String>> entrySet() {
        return new AbstractSet<>() {
            @Override
            public int size() {
                return size;
            }

            @Override
            public Iterator<Entry<String, String>> iterator() {
                return new Iterator<>() {
                    private int next;

                    @Override
                    public boolean hasNext() {
                        return next < size;
                    }

                    @Override
                    public Entry<String, String> next() {
                        if (next >= size) {
                            throw new NoSuchElementException();
                        }
                        int i = next++;
                        return new SimpleImmutableEntry<>(names[i], values[i]);
                    }
                };
            }
        };
    }
}
