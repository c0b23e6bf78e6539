"""airflow-platform: load the stack config, build the components, wire their outputs, export what operators need.

Components meet only here and only through their outputs and intent methods; `wiring.py` turns
the stack config into their arguments.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

import wiring
from components.airflow_auth import redirect_uri
from components.airflow_release import AirflowRelease
from components.buckets import AirflowBuckets
from components.cluster import ClusterAccess
from components.component_logs import ComponentLogGroups
from components.dag_publishers import DagPublishers
from components.database import POSTGRES_PORT, MetadataDatabase
from components.disaster_recovery import DisasterRecoveryCopy
from components.irsa import IrsaRole
from components.lb_controller import LoadBalancerController
from components.load_balancer import WebLoadBalancer
from components.log_shipper import LogShipper
from components.secrets_backend import SecretsManagerBackend
from config import load_settings
from config.naming import aws_names
from config.settings import GIT_HTTPS_TOKEN, GIT_SSH_PRIVATE_KEY, OIDC_CLIENT_SECRET_KEY

settings = load_settings()  # raises ConfigError before any resource is registered
shape = settings.shape
names = aws_names(settings)
account_id = aws.get_caller_identity_output().account_id

cluster = ClusterAccess("cluster", wiring.cluster_args(settings, names))

database = MetadataDatabase("metadata-db", wiring.database_args(settings, names, cluster.vpc_id))
db_access = database.connections.allow_from(
    "from-workloads", cluster.workload_security_group_id, POSTGRES_PORT, "PostgreSQL from the EKS workloads"
)

buckets = AirflowBuckets("buckets", wiring.buckets_args(settings, account_id))

roles = {
    workload: IrsaRole(
        f"irsa-{workload.value}",
        wiring.irsa_args(settings, names, workload, cluster.oidc_provider_arn, cluster.oidc_issuer),
    )
    for workload in shape.workloads
}

# The UI only reads task logs; everything else writes them too.
grants = [
    buckets.logs.grant_read(role) if workload is shape.ui_workload else buckets.logs.grant_read_write(role)
    for workload, role in roles.items()
]
if settings.dags.source == "s3":
    grants += [
        buckets.dags.grant_read(roles[workload], prefix=settings.dags.s3_prefix) for workload in shape.dag_readers
    ]

# Identity and secrets: connections and variables from Secrets Manager, read by exactly the
# workloads that resolve them; one folder-scoped CI role per DAG publisher.
backend_args = wiring.secrets_backend_args(settings, account_id)
if backend_args is not None:
    secrets_backend = SecretsManagerBackend(backend_args)
    grants += [secrets_backend.grant_read(roles[workload]) for workload in shape.connection_resolvers]
publisher_args = wiring.dag_publishers_args(settings, names, buckets.dags.arn)
publishers = DagPublishers("dag-publishers", publisher_args) if publisher_args is not None else None

# Front door: the load balancer exists before the release, whose values carry its URL and source CIDRs.
front_door = WebLoadBalancer("front-door", wiring.load_balancer_args(settings, names, cluster.vpc_id, account_id))
front_door.allow_to(cluster.workloads)
controller_args = wiring.lb_controller_args(
    settings, names, cluster.vpc_id, cluster.oidc_provider_arn, cluster.oidc_issuer
)
controller = (
    LoadBalancerController("lb-controller", controller_args, opts=pulumi.ResourceOptions(providers=[cluster.provider]))
    if controller_args
    else None
)

# Component logs: the log groups (and the scheduler-error alarm), and a shipper for the Airflow namespace
# unless the cluster ships logs already (README: "Component logs in CloudWatch").
log_groups_args = wiring.component_logs_args(settings, names)
log_groups = ComponentLogGroups("component-logs", log_groups_args) if log_groups_args else None
shipper_args = wiring.log_shipper_args(settings, names, cluster.oidc_provider_arn, cluster.oidc_issuer)
if log_groups is not None and shipper_args is not None:
    LogShipper(
        "log-shipper", shipper_args, writes_to=log_groups, opts=pulumi.ResourceOptions(providers=[cluster.provider])
    )

# Disaster recovery: DB backups and the buckets copied to dr.region (README: "Disaster recovery").
# The DR provider reaches its region as the default provider does (profile, assumed roles, account guard, tags).
aws_config = pulumi.Config("aws")
dr_provider = wiring.dr_provider_settings({key: aws_config.get(key) for key in wiring.DR_PROVIDER_KEYS})
recovery_args = wiring.dr_args(
    settings, names, account_id, database.arn, dr_provider, source_db_resource_id=database.instance.resource_id
)
if recovery_args is not None:
    recovery = DisasterRecoveryCopy("dr", recovery_args)
    for source in (buckets.dags, buckets.logs):
        if source.key in recovery.replicas:
            recovery.replicate(source)
    pulumi.export("drRegion", recovery.region)
    pulumi.export("drBucketNames", {key: replica.name for key, replica in recovery.replicas.items()})

config = pulumi.Config()
airflow = AirflowRelease(
    "airflow",
    wiring.release_args(
        settings,
        role_arns={workload: role.arn for workload, role in roles.items()},
        dag_bucket=buckets.dags.name,
        log_bucket=buckets.logs.name,
        database=database.endpoint(reachable_after=[db_access]),  # the bootstrap Job connects at once
        git_ssh_private_key=config.get_secret(GIT_SSH_PRIVATE_KEY),
        git_https_token=config.get_secret(GIT_HTTPS_TOKEN),
        oidc_client_secret=config.get_secret(OIDC_CLIENT_SECRET_KEY),
        api_peer_cidrs=front_door.source_cidrs() if settings.airflow.network_policies else (),
        base_url=front_door.url,
        namespace_labels=front_door.readiness_gate_labels(),
    ),
    # Pods start syncing DAGs and writing logs at once: their permissions must exist first.
    opts=pulumi.ResourceOptions(providers=[cluster.provider], depends_on=grants),
)

# The controller registers the API pods in the target group; it needs the Service and its own CRDs.
front_door.bind_service(
    airflow.namespace,
    airflow.api_service_name,
    airflow.api_service_port,
    opts=pulumi.ResourceOptions(
        provider=cluster.provider, depends_on=[airflow.release, *(controller.ready if controller else [])]
    ),
)

pulumi.export("environment", settings.environment)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("namespace", airflow.namespace)
pulumi.export("dbEndpoint", database.address)
pulumi.export("dbPort", database.port)
pulumi.export("dagBucketName", buckets.dags.name)
pulumi.export("logBucketName", buckets.logs.name)
pulumi.export("roleArns", {workload.value: role.arn for workload, role in roles.items()})
pulumi.export("releaseName", airflow.release_name)
pulumi.export("apiServiceName", airflow.api_service_name)
pulumi.export("apiServicePort", airflow.api_service_port)
pulumi.export("airflowUrl", front_door.url)
if settings.airflow.auth.type == "oidc":
    # The callback to register with the identity provider's OAuth client.
    pulumi.export("oidcRedirectUri", front_door.url.apply(lambda url: redirect_uri(url, shape.major)))
if airflow.admin_password is not None:
    pulumi.export("adminPassword", airflow.admin_password)  # secret: pulumi stack output --show-secrets
if airflow.break_glass_password is not None:
    pulumi.export("breakGlassAdminPassword", airflow.break_glass_password)  # secret, like adminPassword
if publishers is not None:
    pulumi.export("publisherRoleArns", publishers.role_arns)
if log_groups is not None:
    pulumi.export("logGroupNames", log_groups.names)
