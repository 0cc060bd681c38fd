/* Timers of berth-proxy: one min-heap for every deadline (connect timeouts, endpoint waits, batched reports), so the
 * event loop sleeps exactly until the earliest and a cancelled timer leaves nothing behind. */
#ifndef BERTH_RELAY_TIMER_H
#define BERTH_RELAY_TIMER_H
#include <stddef.h>
#include <stdint.h>

#define RELAY_TIMER_IDLE ((size_t) -1)

struct relay_timer
{
  int64_t due_us;
  /* Place in the heap, RELAY_TIMER_IDLE while not armed. */
  size_t index;
  void (*fire) (struct relay_timer *);
};

void relay_timer_init (struct relay_timer *t, void (*fire) (struct relay_timer *));
/* (Re)arms t for due_us (CLOCK_MONOTONIC microseconds). */
void relay_timer_arm (struct relay_timer *t, int64_t due_us);
void relay_timer_cancel (struct relay_timer *t);
static inline int
relay_timer_armed (const struct relay_timer *t)
{
  return t->index != RELAY_TIMER_IDLE;
}
/* Milliseconds until the earliest timer is due (0 if one is), -1 if none is armed: an epoll_wait timeout. */
int relay_timer_wait_ms (int64_t now_us);
/* Fires every timer due at now_us, earliest first (a timer is disarmed before it fires and may re-arm itself). */
void relay_timer_run (int64_t now_us);

#endif
