package io.resq;

import java.lang.reflect.GenericArrayType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.util.Objects;

/**
 * A payload type with its type arguments, for payloads a {@code Class} cannot name:
 *
 * <pre>{@code
 * Processor<List<Order>> p = queues.processor("order-batches", new TypeRef<List<Order>>() {})
 *         .handler(batch -> batch.forEach(billing::charge))
 *         .start();
 * }</pre>
 *
 * <p>The empty braces make an anonymous subclass, whose superclass {@code TypeRef<List<Order>>}
 * keeps the type argument at run time; the constructor reads it from there. Two refs to the same
 * type are {@link #equals equal}, wherever they were created, so
 * {@code queues.enqueue(queue, new TypeRef<List<Order>>() {})} returns the same instance on every
 * call, as {@code enqueue(queue, type)} does for a class. {@link #of(Class)} wraps a plain class.
 *
 * <p>resq owns this type rather than taking Jackson's {@code TypeReference}, so that its API does
 * not depend on the payload codec: a {@link io.resq.spi.PayloadCodec} gets the
 * {@link java.lang.reflect.Type} and may be built on any library.
 *
 * @param <T> the payload type
 */
public abstract class TypeRef<T> {

    private final Type type;

    /**
     * Captures the type argument of the anonymous subclass being created.
     *
     * @throws IllegalArgumentException if the subclass names no type argument ({@code new TypeRef() {}}),
     *         is not a direct subclass, or its type contains a type variable (a {@code T} of a generic
     *         method or class is erased at run time, so it names no type)
     */
    protected TypeRef() {
        Type superclass = getClass().getGenericSuperclass();
        if (!(superclass instanceof ParameterizedType p) || p.getRawType() != TypeRef.class) {
            throw new IllegalArgumentException("create a TypeRef with its type argument as an anonymous subclass, "
                    + "for example new TypeRef<List<Order>>() {}; " + getClass().getName() + " extends " + superclass.getTypeName());
        }
        this.type = checked(p.getActualTypeArguments()[0]);
    }

    private TypeRef(Class<T> type) {
        this.type = Objects.requireNonNull(type, "type must not be null");
    }

    /** A ref to a plain class: {@code TypeRef.of(Order.class)} equals {@code new TypeRef<Order>() {}}. */
    public static <T> TypeRef<T> of(Class<T> type) {
        return new TypeRef<T>(type) {
        };
    }

    /** The type, as Java reflection represents it: a {@code Class} or a {@code ParameterizedType}, for example. */
    public Type type() {
        return type;
    }

    /** Whether {@code other} is a TypeRef to the same type. */
    @Override
    public boolean equals(Object other) {
        return other instanceof TypeRef<?> ref && ref.type.equals(type);
    }

    @Override
    public int hashCode() {
        return type.hashCode();
    }

    /** The type's name with its arguments, for example {@code java.util.List<com.example.Order>}. */
    @Override
    public String toString() {
        return type.getTypeName();
    }

    /** {@code type}, once it is known to name no type variable anywhere inside it. */
    private static Type checked(Type type) {
        check(type, type);
        return type;
    }

    private static void check(Type part, Type whole) {
        if (part instanceof TypeVariable<?> v) {
            throw new IllegalArgumentException("TypeRef<" + whole.getTypeName() + "> names the type variable " + v.getName()
                    + ", which is erased at run time; give a concrete type, for example new TypeRef<List<Order>>() {}");
        }
        if (part instanceof ParameterizedType p) {
            for (Type argument : p.getActualTypeArguments()) {
                check(argument, whole);
            }
            if (p.getOwnerType() != null) {
                check(p.getOwnerType(), whole);
            }
        } else if (part instanceof GenericArrayType a) {
            check(a.getGenericComponentType(), whole);
        } else if (part instanceof WildcardType w) {
            for (Type bound : w.getUpperBounds()) {
                check(bound, whole);
            }
            for (Type bound : w.getLowerBounds()) {
                check(bound, whole);
            }
        }
    }
}
