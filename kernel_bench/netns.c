/* kernel_bench/netns.c: an anonymous network namespace with veth pairs and XDP attachments. */
#define _GNU_SOURCE
#include "kernel_bench/bench_int.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS_DEVS 64

struct ns_dev {
	int ifindex;
	char name[IF_NAMESIZE];
	int hold_link;   /* link fd of a held program, -1 */
	int hold_clean;  /* its cleanup handle */
	bool spare;      /* made for holds: never given out by k2_netns_veth */
};

struct k2_netns {
	int orig_fd;     /* the namespace the thread came from */
	int fd;          /* ours */
	int nl;          /* rtnetlink socket opened inside ours */
	int clean_fd, clean_nl;
	struct k2_cleanup *c;
	unsigned long inode;
	uint32_t n_pairs;
	struct ns_dev dev[NS_DEVS];
	uint32_t n_dev;
};

static int thread_ns_fd(void)
{
	return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

/* New devices of the namespace get no IPv6: no router solicitations or MLD reports that
 * would add packets to what a run counts. */
static void no_ipv6(void)
{
	int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* without IPv6 in the kernel there is nothing to disable */
		}
		close(fd);
	}
}

int k2_netns_new(struct k2_cleanup *c, struct k2_netns **out, struct k2_err *e)
{
	struct k2_netns *ns = calloc(1, sizeof(*ns));
	struct stat st;
	int err;

	*out = NULL;
	if (!ns)
		return k2_err_set(e, -ENOMEM, "netns: out of memory");
	ns->c = c;
	ns->fd = ns->nl = -1;
	ns->clean_fd = ns->clean_nl = -1;
	ns->orig_fd = thread_ns_fd();
	if (ns->orig_fd < 0) {
		err = k2_err_set(e, -errno, "netns: /proc/thread-self/ns/net: %s", strerror(errno));
		free(ns);
		return err;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		err = k2_err_set(e, -errno,
				 "netns: unshare(CLONE_NEWNET): %s (needs CAP_SYS_ADMIN)",
				 strerror(errno));
		close(ns->orig_fd);
		free(ns);
		return err;
	}
	ns->fd = thread_ns_fd();
	if (ns->fd >= 0)
		ns->clean_fd = k2_cleanup_add_fd(c, ns->fd);
	no_ipv6();
	ns->nl = k2_nl_open(e);
	if (ns->nl >= 0)
		ns->clean_nl = k2_cleanup_add_fd(c, ns->nl);
	err = ns->fd < 0 ? k2_err_set(e, -errno, "netns: open: %s", strerror(errno))
	      : ns->nl < 0 ? ns->nl : 0;
	/* Back to where we were in any case; from now on we enter only when needed. */
	if (setns(ns->orig_fd, CLONE_NEWNET) < 0 && !err)
		err = k2_err_set(e, -errno, "netns: setns back: %s", strerror(errno));
	if (!err && fstat(ns->fd, &st) == 0)
		ns->inode = (unsigned long)st.st_ino;
	if (err) {
		k2_netns_free(ns);
		return err;
	}
	*out = ns;
	return 0;
}

void k2_netns_free(struct k2_netns *ns)
{
	if (!ns)
		return;
	for (uint32_t i = 0; i < ns->n_dev; i++)
		if (ns->dev[i].hold_link >= 0)
			k2_netns_unhold(ns, (int)i);
	/* Closing the last fd destroys the namespace, its veth pairs and their programs. */
	k2_cleanup_forget(ns->c, ns->clean_nl);
	k2_cleanup_forget(ns->c, ns->clean_fd);
	if (ns->nl >= 0)
		close(ns->nl);
	if (ns->fd >= 0)
		close(ns->fd);
	if (ns->orig_fd >= 0)
		close(ns->orig_fd);
	free(ns);
}

unsigned long k2_netns_inode(const struct k2_netns *ns)
{
	return ns->inode;
}

int k2_netns_enter(struct k2_netns *ns, struct k2_err *e)
{
	if (setns(ns->fd, CLONE_NEWNET) < 0)
		return k2_err_set(e, -errno, "netns: setns: %s", strerror(errno));
	return 0;
}

int k2_netns_leave(struct k2_netns *ns, struct k2_err *e)
{
	if (setns(ns->orig_fd, CLONE_NEWNET) < 0)
		return k2_err_set(e, -errno, "netns: setns back: %s", strerror(errno));
	return 0;
}

static int veth_pair(struct k2_netns *ns, bool spare, int *ifa, int *ifb, struct k2_err *e)
{
	struct ns_dev *a, *b;
	int err;

	if (ns->n_dev + 2 > NS_DEVS)
		return k2_err_set(e, -ENOSPC, "netns: more than %d devices", NS_DEVS);
	a = &ns->dev[ns->n_dev];
	b = a + 1;
	memset(a, 0, 2 * sizeof(*a));
	a->hold_link = b->hold_link = -1;
	a->hold_clean = b->hold_clean = -1;
	a->spare = b->spare = spare;
	snprintf(a->name, sizeof(a->name), "k2b%da%u", (int)getpid() % 10000000, ns->n_pairs);
	snprintf(b->name, sizeof(b->name), "k2b%db%u", (int)getpid() % 10000000, ns->n_pairs);
	err = k2_nl_veth_add(ns->nl, a->name, b->name, e);
	if (!err)
		err = k2_nl_link_get(ns->nl, a->name, 0, &a->ifindex, NULL, e);
	if (!err)
		err = k2_nl_link_get(ns->nl, b->name, 0, &b->ifindex, NULL, e);
	if (!err && (!a->ifindex || !b->ifindex))
		err = k2_err_set(e, -ENODEV, "netns: veth %s/%s vanished", a->name, b->name);
	if (!err)
		err = k2_nl_link_up(ns->nl, a->ifindex, e);
	if (!err)
		err = k2_nl_link_up(ns->nl, b->ifindex, e);
	if (err)
		return err;
	ns->n_pairs++;
	ns->n_dev += 2;
	if (ifa)
		*ifa = a->ifindex;
	if (ifb)
		*ifb = b->ifindex;
	return 0;
}

int k2_netns_veth(struct k2_netns *ns, int *ifa, int *ifb, struct k2_err *e)
{
	return veth_pair(ns, false, ifa, ifb, e);
}

const char *k2_netns_ifname(const struct k2_netns *ns, int ifindex)
{
	for (uint32_t i = 0; i < ns->n_dev; i++)
		if (ns->dev[i].ifindex == ifindex)
			return ns->dev[i].name;
	return "?";
}

int k2_netns_rx_packets(struct k2_netns *ns, int ifindex, uint64_t *rx, struct k2_err *e)
{
	*rx = 0;
	return k2_nl_link_get(ns->nl, NULL, ifindex, NULL, rx, e);
}

int k2_netns_xdp_attach(struct k2_netns *ns, int prog_fd, int ifindex, uint32_t flags,
			struct k2_err *e)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
	int fd, err;

	err = k2_netns_enter(ns, e);
	if (err)
		return err;
	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);
	err = fd < 0 ? -errno : 0;
	k2_netns_leave(ns, NULL);
	if (err)
		return k2_err_set(e, err, "attach XDP (%s mode) to %s: %s",
				  flags & XDP_FLAGS_SKB_MODE ? "generic" : "native",
				  k2_netns_ifname(ns, ifindex), strerror(-err));
	return fd;
}

int k2_netns_hold(struct k2_netns *ns, int prog_fd, struct k2_err *e)
{
	uint32_t i;
	int fd, err;

	for (i = 0; i < ns->n_dev; i++)
		if (ns->dev[i].spare && ns->dev[i].hold_link < 0)
			break;
	if (i == ns->n_dev) {
		err = veth_pair(ns, true, NULL, NULL, e);
		if (err)
			return err;
	}
	fd = k2_netns_xdp_attach(ns, prog_fd, ns->dev[i].ifindex, XDP_FLAGS_SKB_MODE, e);
	if (fd < 0)
		return fd;
	ns->dev[i].hold_link = fd;
	ns->dev[i].hold_clean = k2_cleanup_add_fd(ns->c, fd);
	return (int)i;
}

void k2_netns_unhold(struct k2_netns *ns, int hold)
{
	struct ns_dev *d;

	if (hold < 0 || (uint32_t)hold >= ns->n_dev)
		return;
	d = &ns->dev[hold];
	if (d->hold_link < 0)
		return;
	k2_cleanup_forget(ns->c, d->hold_clean);
	close(d->hold_link);
	d->hold_link = -1;
	d->hold_clean = -1;
}
