/* notify.h - telling a service manager how the daemon is doing: READY=1,
 * STATUS= with the number of forwards, STOPPING=1 (sd_notify protocol). */
#ifndef SN_NOTIFY_H
#define SN_NOTIFY_H

/* sn_notify_preload() - if a service manager listens, load what talking
 * to it needs now, before --enable-sandbox hides the libraries */
void sn_notify_preload(void);

/* sn_notify_ready() - tap0 is configured and the API socket listens */
void sn_notify_ready(unsigned int forwards);

/* sn_notify_status() - the forward count changed */
void sn_notify_status(unsigned int forwards);

/* sn_notify_stopping() - shutting down */
void sn_notify_stopping(void);

#endif
