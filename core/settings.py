"""One typed, frozen settings object for every process.

Built once at start-up from environment variables prefixed ``NIMBUS_`` and an
optional TOML config file (``NIMBUS_CONFIG_FILE``); environment variables win.
Every field is documented below and validated when the object is built.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "NIMBUS_"


def _doc(text: str, **kw: Any) -> Any:
    return field(metadata={"doc": text}, **kw)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _doc("Directory for the SQLite database, keys and generated client files.",
                          default=Path(".data"))
    host: str = _doc("Address the all-in-one server listens on.", default="127.0.0.1")
    port: int = _doc("Port the all-in-one server listens on.", default=8080)
    public_url: str = _doc("Base URL clients use to reach the APIs (catalog endpoints are built "
                           "from it). Default: http://HOST:PORT.", default="")
    database_url: str = _doc("SQLAlchemy URL. Default: SQLite file in DATA_DIR (WAL mode).",
                             default="")
    database_connect_timeout: float = _doc(
        "Seconds a new database connection may take before the request gets a 503 "
        "(libpq's and PyMySQL's connect_timeout).", default=5.0)
    database_pool_timeout: float = _doc(
        "Seconds a request waits for a free pooled database connection before a 503.",
        default=10.0)
    transport_url: str = _doc("Message bus URL (memory://, amqp://, sqla+...).",
                              default="memory://")
    notification_ttl: int = _doc(
        "Seconds a notification waits on the bus for a listener before it expires (RabbitMQ "
        "x-message-ttl; 0: no limit).", default=3600)
    notification_max_length: int = _doc(
        "Notifications a queue keeps for listeners; past it the oldest go (RabbitMQ "
        "x-max-length, overflow drop-head; 0: no limit).", default=10_000)
    region: str = _doc("Region name used in the service catalog; EC2 (SigV4) signatures must "
                       "be scoped to it.", default="RegionOne")
    token_expiration: int = _doc("Token lifetime in seconds.", default=3600)
    token_cache_size: int = _doc(
        "Validated tokens each process keeps in memory (about 1.6 KB each; least recently "
        "used go first), served only while nothing they depend on has changed; 0: none.",
        default=10_000)
    key_repository: Path | None = _doc("Fernet key repository for tokens. Default: "
                                       "DATA_DIR/fernet-keys.", default=None)
    credential_key_repository: Path | None = _doc(
        "Fernet key repository encrypting stored credential secrets. Default: "
        "DATA_DIR/credential-keys.", default=None)
    max_active_keys: int = _doc("Keys kept in a repository by rotation (staged + primary + "
                                "secondaries).", default=3)
    policy_file: Path | None = _doc("policy.json / policy.yaml overriding the defaults; re-read "
                                    "when it changes. Default: DATA_DIR/policy.yaml if present.",
                                    default=None)
    bcrypt_rounds: int = _doc("bcrypt cost factor for stored passwords and secrets.", default=12)
    ec2_auth_ttl: int = _doc("Seconds an EC2 signature timestamp stays acceptable (the clock "
                             "skew allowed; a presigned URL lives for its own X-Amz-Expires, "
                             "up to seven days).", default=900)
    ec2_terminated_visible_seconds: int = _doc(
        "Seconds a deleted instance stays listed by EC2 DescribeInstances as 'terminated' "
        "(AWS keeps them about an hour), so waiters see the end state.", default=3600)
    admin_password: str | None = _doc("Password of the bootstrap admin user. Default: "
                                      "generated once and stored in DATA_DIR.", default=None)
    # ---- image service ----
    image_stores: str = _doc("Enabled image stores, comma-separated, from: file, s3, swift, "
                             "http.", default="file,http")
    image_default_store: str = _doc("Store new images go to unless X-Image-Meta-Store "
                                    "chooses another.", default="file")
    image_file_dir: Path | None = _doc("Directory of the file store. Default: "
                                       "DATA_DIR/images.", default=None)
    image_size_cap: int = _doc("Largest image accepted, in bytes.", default=1 << 40)
    image_project_quota: int = _doc("Bytes of image data a project may store (0: no limit).",
                                    default=0)
    image_import_allowed_ports: str = _doc(
        "Ports web-download imports may fetch from, comma-separated (empty: any).",
        default="80,443")
    image_s3_endpoint: str = _doc("S3 endpoint URL (any S3-compatible service).", default="")
    image_s3_bucket: str = _doc("S3 bucket holding image data.", default="nimbus-images")
    image_s3_access_key: str = _doc("S3 access key.", default="")
    image_s3_secret_key: str = _doc("S3 secret key.", default="")
    image_s3_region: str = _doc("S3 region name.", default="us-east-1")
    image_s3_part_size: int = _doc("S3 multipart part size in bytes.", default=16 << 20)
    image_swift_auth_url: str = _doc("Swift auth URL (tempauth v1.0 or Keystone v3).",
                                     default="")
    image_swift_auth_version: str = _doc("Swift auth version: 1 (tempauth) or 3 (Keystone).",
                                         default="1")
    image_swift_user: str = _doc("Swift user (tempauth: account:user).", default="")
    image_swift_key: str = _doc("Swift key or password.", default="")
    image_swift_project: str = _doc("Keystone project for Swift (auth version 3).",
                                    default="")
    image_swift_container: str = _doc("Swift container holding image data.",
                                      default="nimbus-images")
    image_swift_segment_size: int = _doc("Swift segment size for large images (static large "
                                         "objects), in bytes.", default=200 << 20)
    # ---- compute ----
    compute_hosts: int = _doc("Simulated compute hosts the all-in-one process runs (0: none; "
                              "run `python -m core.agent` processes instead).", default=4)
    compute_host_vcpus: int = _doc("vCPUs of each simulated all-in-one host.", default=16)
    compute_host_memory_mb: int = _doc("RAM (MiB) of each simulated all-in-one host.",
                                       default=65536)
    compute_host_disk_gb: int = _doc("Disk (GiB) of each simulated all-in-one host.",
                                     default=1000)
    default_availability_zone: str = _doc("Availability zone of hosts that name none.",
                                          default="nova")
    run_control_plane: bool = _doc("Run the conductor, scheduler and simulated hosts inside "
                                   "the API process (all-in-one). Turn off when they run as "
                                   "their own processes.", default=True)
    driver_operation_time: float = _doc("Seconds each simulated hypervisor operation takes.",
                                        default=0.0)
    driver_failure_rate: float = _doc("Probability (0-1) that a simulated spawn fails.",
                                      default=0.0)
    report_interval: float = _doc("Seconds between the heartbeats of a compute agent, a "
                                  "conductor or a scheduler.", default=10.0)
    simulated_state_dir: Path | None = _doc(
        "Directory where simulated hypervisors keep their guests across restarts (one file "
        "per host). The all-in-one uses DATA_DIR/hypervisors when unset; a `core.agent` "
        "process without it loses its guests when it dies.", default=None)
    resume_guests_state_on_host_boot: bool = _doc(
        "Start the guests that were running when a simulated host comes back (Nova's "
        "option). Off: they come back powered off and their instances SHUTOFF.",
        default=False)
    sync_power_state_interval: float = _doc(
        "Seconds between a compute agent's power-state syncs (it also syncs at start): "
        "guests found powered off stop their instances, guests not found put them in ERROR "
        "(0: only at start).", default=600.0)
    shelved_offload_time: int = _doc(
        "Nova's option: 0 offloads a shelved server at once (SHELVED_OFFLOADED: its host's "
        "resources are given back); any other value leaves it SHELVED on its host until "
        "an admin's shelveOffload (no periodic offload runs).", default=0)
    build_timeout: float = _doc(
        "Seconds a build may go without progress (task state unchanged) before a conductor "
        "fails it as interrupted, giving back its claim, quota and address (0: never).",
        default=600.0)
    build_check_interval: float = _doc(
        "Seconds between a conductor's checks for interrupted builds.", default=60.0)
    reclaim_instance_interval: float = _doc(
        "Seconds a deleted server is kept, SOFT_DELETED (powered off, its resources and "
        "quota still held), before a conductor's periodic check (every BUILD_CHECK_INTERVAL) "
        "deletes it; meanwhile `restore` brings it back and `forceDelete` deletes it at once. "
        "0 (Nova's default): a delete deletes at once.", default=0.0)
    service_down_time: float = _doc("Seconds without a heartbeat after which a service is "
                                    "down (a compute host then gets no new instances).",
                                    default=60.0)
    console_token_ttl: int = _doc(
        "Seconds a remote console's access token (os-remote-consoles) stays valid.",
        default=600)
    scheduler_filters: str = _doc(
        "Enabled scheduler filters, in order, comma-separated (AggregateInstanceExtraSpecs"
        "Filter is available too; Nova leaves it out by default).",
        default="ComputeFilter,AvailabilityZoneFilter,RamFilter,CoreFilter,DiskFilter,"
                "ImagePropertiesFilter,ComputeCapabilitiesFilter,ServerGroupAffinityFilter,"
                "ServerGroupAntiAffinityFilter,SameHostFilter,DifferentHostFilter,"
                "NumInstancesFilter")
    scheduler_weighers: str = _doc(
        "Enabled weighers with their multipliers, comma-separated NAME:MULTIPLIER (a negative "
        "multiplier stacks, a positive one spreads).",
        default="RAMWeigher:1.0,CPUWeigher:1.0,DiskWeigher:1.0,NumInstancesWeigher:0.0,"
                "BuildFailureWeigher:1000000.0")
    host_subset_size: int = _doc("The scheduler picks at random among this many best hosts.",
                                 default=1)
    max_attempts: int = _doc("Hosts tried per instance build (1 disables rescheduling).",
                             default=3)
    max_instances_per_host: int = _doc("NumInstancesFilter's limit.", default=50)
    cpu_allocation_ratio: float = _doc("vCPU overcommit ratio.", default=4.0)
    ram_allocation_ratio: float = _doc("RAM overcommit ratio.", default=1.0)
    disk_allocation_ratio: float = _doc("Disk overcommit ratio.", default=1.0)
    # ---- block storage: the volume scheduler and simulated back ends ----
    volume_agents: int = _doc(
        "Simulated volume back ends the all-in-one process runs (0: none; run `python -m "
        "core.volume.agent` processes instead).", default=1)
    volume_backend: str = _doc(
        "Name (host@backend) of the all-in-one's simulated back end. Default: "
        "SERVICE_HOST@simulated.", default="")
    volume_pools: str = _doc(
        "Pools of a simulated back end, comma-separated NAME:TOTAL_GB[:thin|thick]"
        "[:FAILURE_RATE].", default="pool-a:1000:thin,pool-b:1000:thick")
    volume_max_over_subscription_ratio: float = _doc(
        "How far thin pools of simulated back ends may be over-subscribed (Cinder's "
        "max_over_subscription_ratio).", default=20.0)
    volume_reserved_percentage: int = _doc(
        "Percentage of each simulated pool kept free (Cinder's reserved_percentage).",
        default=0)
    volume_operation_time: float = _doc(
        "Seconds each simulated storage operation takes.", default=0.0)
    volume_failure_rate: float = _doc(
        "Probability (0-1) that a simulated storage operation fails.", default=0.0)
    volume_report_interval: float = _doc(
        "Seconds between a volume back end's capacity reports to the schedulers (Cinder's "
        "backend_stats_polling_interval); a pool unreported for SERVICE_DOWN_TIME gets no "
        "new volumes.", default=10.0)
    volume_scheduler_filters: str = _doc(
        "Enabled volume scheduler filters, in order, comma-separated.",
        default="AvailabilityZoneFilter,CapacityFilter,CapabilitiesFilter")
    volume_capacity_weight_multiplier: float = _doc(
        "CapacityWeigher's multiplier: positive spreads volumes over pools, negative "
        "stacks them.", default=1.0)
    volume_create_timeout: float = _doc(
        "Seconds a volume may stay creating before a volume scheduler sends it on again "
        "(its message was lost with a process; 0: never).", default=120.0)
    volume_attach_timeout: float = _doc(
        "Seconds a volume may stay reserved or attaching (its attachment unchanged) or "
        "detaching before a conductor's periodic check (every BUILD_CHECK_INTERVAL) sends "
        "the attach or detach to the server's host again, or rolls it back when the server "
        "or its host is gone (0: never).", default=300.0)
    volume_max_attempts: int = _doc(
        "Pools tried per volume create before it goes to error (Cinder's "
        "scheduler_max_attempts).", default=3)
    quota_instances: int = _doc("Default instances quota per project (-1: unlimited).",
                                default=10)
    quota_cores: int = _doc("Default vCPU quota per project.", default=20)
    quota_ram: int = _doc("Default RAM quota per project (MiB).", default=51200)
    quota_key_pairs: int = _doc("Default key pairs per user.", default=100)
    quota_server_groups: int = _doc("Default server groups per project.", default=10)
    quota_server_group_members: int = _doc("Default members per server group.", default=10)
    quota_metadata_items: int = _doc("Metadata items per server.", default=128)
    fixed_range: str = _doc("CIDR instances take their fixed addresses from.",
                            default="10.0.0.0/22")
    network_name: str = _doc("Name of the shared default network (over FIXED_RANGE) that "
                             "servers booted without a network, and EC2's default subnet, "
                             "use.", default="private")
    external_network_name: str = _doc("Name of the external network (over FLOATING_RANGE) "
                                      "floating IPs come from.", default="public")
    floating_range: str = _doc("CIDR of the floating (public, EC2 Elastic IP) addresses "
                               "projects allocate; listed under NETWORK_NAME.",
                               default="203.0.113.0/24")
    quota_floating_ips: int = _doc("Default floating IPs (EC2 addresses) per project.",
                                   default=10)
    quota_networks: int = _doc("Default networks per project.", default=100)
    quota_subnets: int = _doc("Default subnets per project.", default=100)
    quota_ports: int = _doc("Default ports per project.", default=500)
    quota_routers: int = _doc("Default routers per project.", default=10)
    quota_security_groups: int = _doc("Default security groups per project.", default=10)
    quota_security_group_rules: int = _doc("Default security group rules per project.",
                                           default=100)
    quota_volumes: int = _doc("Default volumes per project.", default=10)
    quota_gigabytes: int = _doc("Default GiB of volumes and snapshots per project.",
                                default=1000)
    quota_snapshots: int = _doc("Default volume snapshots per project.", default=10)
    max_limit: int = _doc("Largest page a compute list returns.", default=1000)
    validate_responses: bool = _doc("Validate every response against the OpenAPI spec "
                                    "(tests turn this on).", default=False)
    log_level: str = _doc("Root log level.", default="INFO")
    # ---- operations: health, metrics, stopping ----
    healthcheck_disable_file: Path | None = _doc(
        "While this file exists, GET /healthcheck answers 503 DISABLED BY FILE "
        "(oslo.middleware's disable_by_file_path): touch it to take an API node out of "
        "the load balancer's pool before a restart.", default=None)
    drain_delay: float = _doc(
        "Seconds an API node goes on serving after SIGTERM while /healthcheck answers 503, "
        "so active health checkers (HAProxy) take it out before it stops accepting; keep "
        "it below gunicorn's graceful timeout.", default=0.0)
    metrics_port: int = _doc(
        "Port on which a conductor, scheduler or compute agent process serves its "
        "Prometheus /metrics (0: off; API nodes serve /metrics on their own port).",
        default=0)
    metrics_host: str = _doc("Address the METRICS_PORT endpoint listens on.",
                             default="127.0.0.1")
    service_host: str = _doc(
        "Host name a conductor or scheduler process reports in `openstack compute "
        "service list` (Nova's [DEFAULT] host). Default: the machine's host name.",
        default="")
    shutdown_timeout: float = _doc(
        "Seconds a conductor, scheduler or agent process waits after SIGTERM for the "
        "messages in hand to be finished; unfinished ones go back to the queue.",
        default=30.0)
    # ---- DNS responder (core/dns) ----
    dns_host: str = _doc("Address the DNS responder (`python -m core.dns`) listens on, UDP "
                         "and TCP.", default="127.0.0.1")
    dns_port: int = _doc("Port of the DNS responder (unprivileged by default).", default=8053)
    dns_domain: str = _doc("Zone of server names: SERVER.PROJECT.DNS_DOMAIN.",
                           default="nimbus.test")
    ec2_public_domain: str = _doc("Domain of EC2 public DNS names: "
                                  "ec2-203-0-113-25.EC2_PUBLIC_DOMAIN.",
                                  default="compute.nimbus.test")
    dns_ttl: int = _doc("TTL (seconds) of the DNS responder's answers and negative answers.",
                        default=30)
    run_dns: bool = _doc("Run the DNS responder inside the API process (`make run` turns it "
                         "on). Leave off when `python -m core.dns` runs as its own process.",
                         default=False)

    # ---- derived values -------------------------------------------------
    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_service_host(self) -> str:
        return self.service_host or socket.gethostname()

    @property
    def effective_volume_backend(self) -> str:
        return self.volume_backend or f"{self.effective_service_host}@simulated"

    @property
    def enabled_volume_filters(self) -> tuple[str, ...]:
        return tuple(f.strip() for f in self.volume_scheduler_filters.split(",") if f.strip())

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'nimbus.db').resolve()}"

    @property
    def effective_key_repository(self) -> Path:
        return self.key_repository or self.data_dir / "fernet-keys"

    @property
    def effective_credential_key_repository(self) -> Path:
        return self.credential_key_repository or self.data_dir / "credential-keys"

    @property
    def effective_image_file_dir(self) -> Path:
        return self.image_file_dir or self.data_dir / "images"

    @property
    def import_ports(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.image_import_allowed_ports.split(",") if p.strip())

    @property
    def enabled_image_stores(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.image_stores.split(",") if s.strip())

    @property
    def effective_policy_file(self) -> Path:
        return self.policy_file or self.data_dir / "policy.yaml"

    @property
    def enabled_filters(self) -> tuple[str, ...]:
        return tuple(f.strip() for f in self.scheduler_filters.split(",") if f.strip())

    @property
    def weigher_multipliers(self) -> tuple[tuple[str, float], ...]:
        out = []
        for item in self.scheduler_weighers.split(","):
            if item.strip():
                name, _, mult = item.strip().partition(":")
                out.append((name, float(mult or 1.0)))
        return tuple(out)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _convert(name: str, typ: Any, raw: Any) -> Any:
    text = str(raw)
    if typ in (bool, "bool"):
        if isinstance(raw, bool):
            return raw
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{ENV_PREFIX}{name.upper()}: not a boolean: {text!r}")
    if typ in (float, "float"):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()}: not a number: {text!r}") from None
    if typ in (int, "int"):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()}: not an integer: {text!r}") from None
    if "Path" in str(typ):
        return Path(text) if text else None
    if "None" in str(typ) and text == "":
        return None
    return text


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings from the environment and config file."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = env.get(ENV_PREFIX + "CONFIG_FILE")
    if config_file:
        with open(config_file, "rb") as fh:
            values.update(tomllib.load(fh))
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown settings in {config_file}: {sorted(unknown)}")
    for name in fields:
        key = ENV_PREFIX + name.upper()
        if key in env:
            values[name] = env[key]
    values.update(overrides)
    typed = {n: _convert(n, fields[n].type, v) for n, v in values.items()}
    settings = Settings(**typed)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if not 0 < s.port < 65536:
        raise ValueError(f"port out of range: {s.port}")
    if not 0 < s.dns_port < 65536:
        raise ValueError(f"dns_port out of range: {s.dns_port}")
    if s.dns_ttl < 0:
        raise ValueError("dns_ttl must not be negative")
    if not 0 <= s.metrics_port < 65536:
        raise ValueError(f"metrics_port out of range: {s.metrics_port}")
    if s.reclaim_instance_interval < 0:
        raise ValueError("reclaim_instance_interval must not be negative")
    if s.drain_delay < 0 or s.shutdown_timeout < 0:
        raise ValueError("drain_delay and shutdown_timeout must not be negative")
    if s.database_connect_timeout <= 0 or s.database_pool_timeout <= 0:
        raise ValueError("database_connect_timeout and database_pool_timeout must be positive")
    if s.ec2_terminated_visible_seconds < 0:
        raise ValueError("ec2_terminated_visible_seconds must not be negative")
    if s.token_expiration < 300:
        # keystoneauth re-authenticates when less than 120 s remain.
        raise ValueError("token_expiration must be at least 300 seconds")
    if s.max_active_keys < 2:
        raise ValueError("max_active_keys must be at least 2")
    if s.token_cache_size < 0:
        raise ValueError("token_cache_size must not be negative")
    if not 4 <= s.bcrypt_rounds <= 31:
        raise ValueError("bcrypt_rounds must be between 4 and 31")
    unknown = set(s.enabled_image_stores) - {"file", "s3", "swift", "http"}
    if unknown:
        raise ValueError(f"unknown image stores: {sorted(unknown)}")
    if not 0.0 <= s.driver_failure_rate <= 1.0:
        raise ValueError("driver_failure_rate must be between 0 and 1")
    if not 0.0 <= s.volume_failure_rate <= 1.0:
        raise ValueError("volume_failure_rate must be between 0 and 1")
    if s.volume_max_attempts < 1 or not 0 <= s.volume_reserved_percentage <= 100:
        raise ValueError("volume_max_attempts must be at least 1 and "
                         "volume_reserved_percentage between 0 and 100")
    if not 0 <= s.notification_ttl <= 4_294_967:  # RabbitMQ: at most 2^32-1 ms
        raise ValueError("notification_ttl must be between 0 and 4294967 seconds")
    if s.notification_max_length < 0:
        raise ValueError("notification_max_length must not be negative")
    if s.max_attempts < 1 or s.host_subset_size < 1:
        raise ValueError("max_attempts and host_subset_size must be at least 1")
    if s.image_default_store not in s.enabled_image_stores:
        raise ValueError(f"image_default_store {s.image_default_store!r} is not enabled")


def describe() -> list[tuple[str, str, str]]:
    """(env var, default, doc) for every setting, for the README and --help."""
    out = []
    for f in dataclasses.fields(Settings):
        default = f.default if f.default is not dataclasses.MISSING else ""
        out.append((ENV_PREFIX + f.name.upper(), str(default), f.metadata.get("doc", "")))
    return out
