#ifndef PAYFLEET_CRABBITMQ_SHIM_H
#define PAYFLEET_CRABBITMQ_SHIM_H

// rabbitmq-c 0.11 ships flat headers (amqp.h); 0.12+ moved them under rabbitmq-c/.
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#include <rabbitmq-c/ssl_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <amqp_framing.h>
#endif
#include <sys/time.h>

/// amqp_login is variadic, which Swift cannot call: PLAIN login with user and password.
static inline amqp_rpc_reply_t payfleet_amqp_login_plain(amqp_connection_state_t state,
                                                         const char *vhost,
                                                         int channel_max,
                                                         int frame_max,
                                                         int heartbeat,
                                                         const char *user,
                                                         const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat,
                      AMQP_SASL_METHOD_PLAIN, user, password);
}

/// amqp_login_with_properties is variadic too: PLAIN login that also sends client properties
/// (connection_name, capabilities), merged by rabbitmq-c into its defaults.
static inline amqp_rpc_reply_t payfleet_amqp_login_plain_with_properties(amqp_connection_state_t state,
                                                                         const char *vhost,
                                                                         int channel_max,
                                                                         int frame_max,
                                                                         int heartbeat,
                                                                         const amqp_table_t *properties,
                                                                         const char *user,
                                                                         const char *password) {
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, properties,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}

/// A struct timeval from microseconds (Swift sees `struct timeval` through a module that
/// MemberImportVisibility will not let it name, so it is built here).
static inline struct timeval payfleet_timeval_from_microseconds(long long microseconds) {
    struct timeval tv;
    if (microseconds < 0) microseconds = 0;
    tv.tv_sec = (time_t)(microseconds / 1000000);
    tv.tv_usec = (suseconds_t)(microseconds % 1000000);
    return tv;
}

#endif
