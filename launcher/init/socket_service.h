/*
 * socket_service.h — the cage's socket service: a child of the init that
 * makes sockets in the cage's network namespace for wgcage
 * (../forward_service.h has the protocol).
 */
#ifndef WGL_INIT_SOCKET_SERVICE_H
#define WGL_INIT_SOCKET_SERVICE_H

/* Forks the service, which serves requests on `service_fd` until wgcage
 * closes its end. Returns once the requests already queued (those written
 * before the go-ahead) have been served: 0 when they all succeeded, else the
 * errno of the first that failed (or of the fork). The service keeps no fd
 * of the init's but `service_fd`, which the caller closes afterwards. */
int socket_service_start(int service_fd);

#endif
