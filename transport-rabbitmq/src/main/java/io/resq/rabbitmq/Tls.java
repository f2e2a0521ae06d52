package io.resq.rabbitmq;

import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.impl.nio.NioParams;
import io.resq.ResqException;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * How the transport sets up TLS on its copy of the connection factory, and how it explains a
 * failed handshake.
 *
 * <p>Verified TLS means the client library's own mechanisms: {@link ConnectionFactory#useSslProtocol(SSLContext)}
 * with a context whose trust managers check the certificate chain, plus
 * {@link ConnectionFactory#enableHostnameVerification()}, which checks that the certificate names
 * the host connected to. Trusting every certificate is only reachable through
 * {@link RabbitMqTransport.Builder#insecureTrustAllCertificates()}.
 */
final class Tls {

    private Tls() {
    }

    /** The JVM's default context: its trust store ({@code javax.net.ssl.trustStore}, else {@code cacerts}). */
    static SSLContext defaultContext() {
        try {
            return SSLContext.getDefault();
        } catch (GeneralSecurityException e) {
            throw new ResqException("the JVM has no default TLS context (" + Errors.describe(e)
                    + "); pass one with RabbitMqTransport.Builder.sslContext(...)", e);
        }
    }

    /** Turns on TLS with {@code context} and hostname verification on {@code factory} (the transport's own copy). */
    static void verified(ConnectionFactory factory, SSLContext context) {
        factory.useSslProtocol(context);
        verifyHostname(factory);
    }

    /** Turns on hostname verification for the TLS {@code factory} (the transport's own copy) already has. */
    static void verifyHostname(ConnectionFactory factory) {
        // The copy shares the caller's NioParams object; give it its own before changing it.
        if (factory.getNioParams() != null) {
            factory.setNioParams(new NioParams(factory.getNioParams()));
        }
        factory.enableHostnameVerification();
    }

    /**
     * Turns on TLS that accepts any certificate for any host (the client library's own
     * trust-everything setup): no protection against a man in the middle.
     */
    static void trustingEverything(ConnectionFactory factory) {
        try {
            factory.useSslProtocol();
        } catch (GeneralSecurityException e) {
            throw new ResqException("cannot set up TLS: " + Errors.describe(e), e);
        }
    }

    /**
     * What to do about a failed TLS handshake, or {@code null} when {@code e} is not one. The text
     * names no credentials: it speaks of certificates and host names only.
     */
    static String explain(Throwable e, Endpoint endpoint) {
        boolean ssl = false;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof CertificateException && String.valueOf(t.getMessage()).startsWith("No ")) {
                // sun.security.util.HostnameChecker: "No subject alternative names matching ...", "No name matching ..."
                return "the TLS certificate of " + endpoint + " does not name the host connected to ("
                        + t.getMessage() + "): connect with a host name the certificate lists, or give the broker "
                        + "a certificate for this name";
            }
            if (t instanceof java.security.cert.CertPathValidatorException
                    || t.getClass().getName().endsWith("SunCertPathBuilderException")) {
                return "the TLS certificate of " + endpoint + " is not trusted (" + t.getMessage() + "): add the "
                        + "certificate of its issuer to the JVM trust store (javax.net.ssl.trustStore) or pass an "
                        + "SSLContext that trusts it with RabbitMqTransport.Builder.sslContext(...)";
            }
            ssl |= t instanceof SSLException;
        }
        if (ssl) {
            return "TLS handshake with " + endpoint + " failed (" + Errors.describe(e) + "): check that the port "
                    + "is the broker's TLS port (5671 by default) and that client and broker share a TLS version";
        }
        return null;
    }
}
