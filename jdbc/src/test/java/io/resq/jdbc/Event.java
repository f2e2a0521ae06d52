package io.resq.jdbc;

/** The tests' payload: the n-th event of a key. */
record Event(String key, int n) {
}
