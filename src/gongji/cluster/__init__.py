"""A local high-availability cluster: one etcd and, per province, two PostgreSQL instances under
Patroni with synchronous replication (``gongji cluster up/status/down``, docs/deploy-cluster.md)."""

from gongji.cluster.commands import ClusterError, down, kill_member, leader, rejoin, status, up, wait_until

__all__ = ["ClusterError", "down", "kill_member", "leader", "rejoin", "status", "up", "wait_until"]
