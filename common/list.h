/*
 * list.h: an intrusive doubly-linked list (a struct list_link inside each
 * element), for the daemons' connection lists: append, unlink in O(1), walk
 * oldest first. Not thread-safe: one list per event loop.
 */
#ifndef NTS_LIST_H
#define NTS_LIST_H

#include <stddef.h>

struct list_link {
	struct list_link *prev, *next;
};

/* struct list: zero-initialised is empty. */
struct list {
	struct list_link *first, *last;
	size_t num;
};

/* LIST_ENTRY gives the element of |type| whose |member| is the link |l|
 * (NULL for NULL, so it walks off the end of a list cleanly). */
#define LIST_ENTRY(l, type, member)                                                                \
	((l) == NULL ? (type *)NULL : (type *)(void *)((char *)(l)-offsetof(type, member)))

/* list_append links |n| (not in any list) at the end of |l|. */
static inline void list_append(struct list *l, struct list_link *n)
{
	n->next = NULL;
	n->prev = l->last;
	if (l->last != NULL) {
		l->last->next = n;
	} else {
		l->first = n;
	}
	l->last = n;
	l->num++;
}

/* list_remove unlinks |n|, which is in |l|. */
static inline void list_remove(struct list *l, struct list_link *n)
{
	if (n->prev != NULL) {
		n->prev->next = n->next;
	} else {
		l->first = n->next;
	}
	if (n->next != NULL) {
		n->next->prev = n->prev;
	} else {
		l->last = n->prev;
	}
	n->prev = n->next = NULL;
	l->num--;
}

#endif
