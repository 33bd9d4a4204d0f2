/*
 * test_list: the intrusive list: append order, unlinking the first, last,
 * middle and only element, and LIST_ENTRY.
 */
#include "common/list.h"

#include "testutil.h"

struct item {
	int v;
	struct list_link link;
};

static int order(const struct list *l)
{
	int r = 0;
	size_t n = 0;
	for (struct list_link *p = l->first; p != NULL; p = p->next) {
		r = r * 10 + LIST_ENTRY(p, struct item, link)->v;
		n++;
	}
	CHECK_EQ(n, l->num);
	/* and backwards */
	int back = 0, mul = 1;
	for (struct list_link *p = l->last; p != NULL; p = p->prev) {
		back += LIST_ENTRY(p, struct item, link)->v * mul;
		mul *= 10;
	}
	CHECK_EQ(back, r);
	return r;
}

int main(void)
{
	struct list l = {0};
	struct item it[5];
	CHECK(LIST_ENTRY(l.first, struct item, link) == NULL);
	for (int i = 0; i < 5; i++) {
		it[i].v = i + 1;
		list_append(&l, &it[i].link);
	}
	CHECK_EQ(order(&l), 12345);
	CHECK(LIST_ENTRY(l.first, struct item, link) == &it[0]);
	list_remove(&l, &it[0].link); /* first */
	CHECK_EQ(order(&l), 2345);
	list_remove(&l, &it[4].link); /* last */
	CHECK_EQ(order(&l), 234);
	list_remove(&l, &it[2].link); /* middle */
	CHECK_EQ(order(&l), 24);
	list_append(&l, &it[0].link); /* re-linked */
	CHECK_EQ(order(&l), 241);
	list_remove(&l, &it[1].link);
	list_remove(&l, &it[3].link);
	CHECK_EQ(order(&l), 1);
	list_remove(&l, &it[0].link); /* the only one */
	CHECK(l.first == NULL && l.last == NULL);
	CHECK_EQ(l.num, 0);
	return test_summary("list");
}
