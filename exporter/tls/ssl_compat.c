/* A shim between Debian 12's civetweb 1.15 and OpenSSL 3, loaded into
 * kscope before civetweb loads OpenSSL (tls_compat.cpp).
 *
 * civetweb dlopen()s "libssl.so" and looks each function up in it;
 * SSL_get_peer_certificate is the one it wants that OpenSSL 3 no longer
 * exports (it became a macro for SSL_get1_peer_certificate), so civetweb
 * gives up on TLS. This library is named "libssl.so" (its SONAME), so
 * civetweb's dlopen() returns it once loaded; it needs the real libssl.so.3,
 * where the lookup finds every other function. It adds that one function,
 * with OpenSSL 3's meaning (the caller frees the certificate, as civetweb
 * does). */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate
X509 *SSL_get_peer_certificate(const SSL *s);

X509 *SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}
