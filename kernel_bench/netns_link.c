/* kernel_bench/netns_link.c: the few rtnetlink requests the bench needs: veth pairs, up, stats. */
#include "kernel_bench/bench_int.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NL_BUF 8192

struct nl_req {
	struct nlmsghdr h;
	struct ifinfomsg i;
	char attrs[1024];
};

int k2_nl_open(struct k2_err *e)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return k2_err_set(e, -errno, "rtnetlink socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return k2_err_set(e, err, "rtnetlink bind: %s", strerror(-err));
	}
	return fd;
}

static struct rtattr *attr_put(struct nl_req *q, int type, const void *data, size_t len)
{
	char *base = (char *)q;
	struct rtattr *a = (struct rtattr *)(base + NLMSG_ALIGN(q->h.nlmsg_len));
	size_t need = NLMSG_ALIGN(q->h.nlmsg_len) + RTA_SPACE(len);

	if (need > sizeof(*q))
		return NULL;
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	q->h.nlmsg_len = (uint32_t)need;
	return a;
}

/* Closes a nested attribute opened by attr_put(type, NULL, 0). */
static void attr_end(struct nl_req *q, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)q + q->h.nlmsg_len - (char *)nest);
}

/* Sends a request and waits for its ack (or, with reply, the first answer). */
static int nl_talk(int nl, struct nlmsghdr *h, void *reply, size_t cap, const char *what,
		   struct k2_err *e)
{
	static const struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	char buf[NL_BUF];
	ssize_t n;

	h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = (uint32_t)getpid() ^ h->nlmsg_type;
	if (sendto(nl, h, h->nlmsg_len, 0, (const struct sockaddr *)&to, sizeof(to)) < 0)
		return k2_err_set(e, -errno, "rtnetlink %s: send: %s", what, strerror(errno));
	for (;;) {
		n = recv(nl, buf, sizeof(buf), 0);
		if (n < 0)
			return k2_err_set(e, -errno, "rtnetlink %s: recv: %s", what,
					  strerror(errno));
		for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n);
		     r = NLMSG_NEXT(r, n)) {
			if (r->nlmsg_seq != h->nlmsg_seq)
				continue;
			if (r->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *er = NLMSG_DATA(r);

				if (er->error)
					return k2_err_set(e, er->error, "rtnetlink %s: %s", what,
							  strerror(-er->error));
				return 0;
			}
			if (reply && r->nlmsg_len <= cap)
				memcpy(reply, r, r->nlmsg_len);
		}
	}
}

int k2_nl_veth_add(int nl, const char *a, const char *b, struct k2_err *e)
{
	struct nl_req q;
	struct ifinfomsg peer = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *pa;
	char what[64];

	memset(&q, 0, sizeof(q));
	q.h.nlmsg_len = NLMSG_LENGTH(sizeof(q.i));
	q.h.nlmsg_type = RTM_NEWLINK;
	q.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	q.i.ifi_family = AF_UNSPEC;
	snprintf(what, sizeof(what), "add veth %s/%s", a, b);
	if (!attr_put(&q, IFLA_IFNAME, a, strlen(a) + 1) ||
	    !(info = attr_put(&q, IFLA_LINKINFO, NULL, 0)) ||
	    !attr_put(&q, IFLA_INFO_KIND, "veth", 5) ||
	    !(data = attr_put(&q, IFLA_INFO_DATA, NULL, 0)) ||
	    !(pa = attr_put(&q, VETH_INFO_PEER, &peer, sizeof(peer))) ||
	    !attr_put(&q, IFLA_IFNAME, b, strlen(b) + 1))
		return k2_err_set(e, -E2BIG, "rtnetlink %s: request too long", what);
	attr_end(&q, pa);
	attr_end(&q, data);
	attr_end(&q, info);
	return nl_talk(nl, &q.h, NULL, 0, what, e);
}

int k2_nl_link_up(int nl, int ifindex, struct k2_err *e)
{
	struct nl_req q;

	memset(&q, 0, sizeof(q));
	q.h.nlmsg_len = NLMSG_LENGTH(sizeof(q.i));
	q.h.nlmsg_type = RTM_NEWLINK;
	q.i.ifi_family = AF_UNSPEC;
	q.i.ifi_index = ifindex;
	q.i.ifi_flags = IFF_UP;
	q.i.ifi_change = IFF_UP;
	return nl_talk(nl, &q.h, NULL, 0, "set link up", e);
}

int k2_nl_link_get(int nl, const char *name, int ifindex, int *index, uint64_t *rx_packets,
		   struct k2_err *e)
{
	struct nl_req q;
	char reply[NL_BUF];
	struct nlmsghdr *r = (struct nlmsghdr *)reply;
	struct ifinfomsg *ifi;
	int len, err;

	memset(&q, 0, sizeof(q));
	memset(reply, 0, sizeof(struct nlmsghdr));
	q.h.nlmsg_len = NLMSG_LENGTH(sizeof(q.i));
	q.h.nlmsg_type = RTM_GETLINK;
	q.i.ifi_family = AF_UNSPEC;
	q.i.ifi_index = ifindex;
	if (name && !attr_put(&q, IFLA_IFNAME, name, strlen(name) + 1))
		return k2_err_set(e, -E2BIG, "rtnetlink: name too long");
	/* The answer (RTM_NEWLINK) comes first, then the ack. */
	err = nl_talk(nl, &q.h, reply, sizeof(reply), "get link", e);
	if (err == -ENODEV && index) {
		*index = 0;
		return 0;
	}
	if (err)
		return err;
	if (r->nlmsg_type != RTM_NEWLINK)
		return k2_err_set(e, -EIO, "rtnetlink get link: no answer");
	ifi = NLMSG_DATA(r);
	if (index)
		*index = ifi->ifi_index;
	len = (int)(r->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_STATS64 && rx_packets &&
		    RTA_PAYLOAD(a) >= sizeof(struct rtnl_link_stats64)) {
			struct rtnl_link_stats64 st;

			memcpy(&st, RTA_DATA(a), sizeof(st));
			*rx_packets = st.rx_packets;
		}
	}
	return 0;
}
