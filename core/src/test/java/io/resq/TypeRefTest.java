package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.ParameterizedType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TypeRefTest {

    record Order(long id) {
    }

    @Test
    void capturesTheTypeArgument() {
        TypeRef<List<Order>> ref = new TypeRef<List<Order>>() {
        };

        assertThat(ref.type()).isInstanceOf(ParameterizedType.class);
        ParameterizedType p = (ParameterizedType) ref.type();
        assertThat(p.getRawType()).isEqualTo(List.class);
        assertThat(p.getActualTypeArguments()).containsExactly(Order.class);
        assertThat(ref).hasToString("java.util.List<io.resq.TypeRefTest$Order>");
    }

    @Test
    void refsToOneTypeAreEqualWhereverTheyWereMade() {
        TypeRef<Map<String, List<Order>>> a = new TypeRef<Map<String, List<Order>>>() {
        };
        TypeRef<Map<String, List<Order>>> b = new TypeRef<Map<String, List<Order>>>() {
        };

        assertThat(a.getClass()).isNotEqualTo(b.getClass());
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(a.type()).isEqualTo(b.type());
        assertThat(a).isNotEqualTo(new TypeRef<Map<String, List<String>>>() {
        });
    }

    @Test
    void aRefToAPlainClassEqualsTheClassRef() {
        assertThat(TypeRef.of(Order.class)).isEqualTo(new TypeRef<Order>() {
        });
        assertThat(TypeRef.of(Order.class).type()).isEqualTo(Order.class);
    }

    @Test
    @SuppressWarnings({"rawtypes", "unchecked"})
    void aRefWithoutATypeArgumentIsRefused() {
        assertThatThrownBy(() -> new TypeRef() {
        }).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("new TypeRef<List<Order>>() {}");
    }

    /** In a generic method the type argument is a variable, erased at run time. */
    private static <X> TypeRef<List<X>> listOf() {
        return new TypeRef<List<X>>() {
        };
    }

    @Test
    void aRefNamingATypeVariableIsRefused() {
        assertThatThrownBy(TypeRefTest::listOf).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("type variable X");
    }

    /** A subclass in between hides the argument from TypeRef's constructor. */
    abstract static class Middle<X> extends TypeRef<X> {
    }

    @Test
    void anIndirectSubclassIsRefused() {
        assertThatThrownBy(() -> new Middle<String>() {
        }).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("anonymous subclass");
    }

    @Test
    void ofRefusesNull() {
        assertThatThrownBy(() -> TypeRef.of(null)).isInstanceOf(NullPointerException.class).hasMessage("type must not be null");
    }
}
