#include "relay_timer.h"
#include "relay.h"
#include <limits.h>

static struct relay_timer **heap;
static size_t heap_len, heap_cap;

static void
place (size_t i, struct relay_timer *t)
{
  heap[i] = t;
  t->index = i;
}

static void
sift_up (size_t i)
{
  struct relay_timer *t = heap[i];
  while (i > 0)
    {
      size_t parent = (i - 1) / 2;
      if (heap[parent]->due_us <= t->due_us)
        break;
      place (i, heap[parent]);
      i = parent;
    }
  place (i, t);
}

static void
sift_down (size_t i)
{
  struct relay_timer *t = heap[i];
  for (;;)
    {
      size_t child = 2 * i + 1;
      if (child >= heap_len)
        break;
      if (child + 1 < heap_len && heap[child + 1]->due_us < heap[child]->due_us)
        child++;
      if (t->due_us <= heap[child]->due_us)
        break;
      place (i, heap[child]);
      i = child;
    }
  place (i, t);
}

void
relay_timer_init (struct relay_timer *t, void (*fire) (struct relay_timer *))
{
  t->due_us = 0;
  t->index = RELAY_TIMER_IDLE;
  t->fire = fire;
}

void
relay_timer_arm (struct relay_timer *t, int64_t due_us)
{
  relay_timer_cancel (t);
  if (heap_len == heap_cap)
    {
      heap_cap = heap_cap ? 2 * heap_cap : 64;
      heap = relay_xrealloc (heap, heap_cap * sizeof *heap);
    }
  t->due_us = due_us;
  place (heap_len++, t);
  sift_up (heap_len - 1);
}

void
relay_timer_cancel (struct relay_timer *t)
{
  size_t i = t->index;
  if (i == RELAY_TIMER_IDLE)
    return;
  t->index = RELAY_TIMER_IDLE;
  struct relay_timer *last = heap[--heap_len];
  if (i == heap_len)
    return;
  place (i, last);
  sift_up (i);
  sift_down (last->index);
}

int
relay_timer_wait_ms (int64_t now_us)
{
  if (heap_len == 0)
    return -1;
  int64_t left_us = heap[0]->due_us - now_us;
  if (left_us <= 0)
    return 0;
  int64_t ms = (left_us + 999) / 1000;
  return ms > INT_MAX ? INT_MAX : (int) ms;
}

void
relay_timer_run (int64_t now_us)
{
  while (heap_len > 0 && heap[0]->due_us <= now_us)
    {
      struct relay_timer *t = heap[0];
      relay_timer_cancel (t);
      t->fire (t);
    }
}
