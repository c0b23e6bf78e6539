"""The root model: the whole validated stack config plus derived names."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field

from airflow_chart.shape import AirflowShape
from config.airflow_models import AirflowConfig, DagsConfig
from config.front_door import FrontDoorConfig
from config.identity import OIDC_CLIENT_SECRET_KEY
from config.models import (
    BucketsConfig,
    ClusterConfig,
    DatabaseConfig,
    EncryptionConfig,
    Environment,
    IrsaConfig,
    Model,
    NetworkConfig,
    ProtectionConfig,
)
from config.operations import ComponentLogsConfig, DisasterRecoveryConfig
from config.types import AwsRegion, InstanceName, NamePrefix, TagKey, TagValue

PROJECT = "airflow-platform"
# Keys that hold credentials. They are read only as Pulumi secrets and must be set with
# `pulumi config set --secret`; they never enter the Settings model.
GIT_SSH_PRIVATE_KEY = "gitSshPrivateKey"
GIT_HTTPS_TOKEN = "gitHttpsToken"
SECRET_KEYS: frozenset[str] = frozenset({GIT_SSH_PRIVATE_KEY, GIT_HTTPS_TOKEN, OIDC_CLIENT_SECRET_KEY})


class Settings(Model):
    """Validated config of one stack. Built only by `config.loader`."""

    aws_region: AwsRegion = Field(description="AWS region such as eu-west-1")
    environment: Environment = Field(description="profile: dev, uat or prod; default: the stack name")
    name_prefix: NamePrefix = Field(default="etl-airflow", description="prefix of bucket, role and DB names")
    instance_name: InstanceName = Field(
        description="this stack in physical names (<namePrefix>-<instanceName>-…, namespace airflow-<instanceName>), "
        "so two stacks of one profile never collide; default: the stack name"
    )
    tags: dict[TagKey, TagValue] = Field(
        default={}, max_length=40, description="extra tags on every AWS resource (at most 40; not aws:*)"
    )
    network: NetworkConfig = Field(description="VPC and private subnets")
    cluster: ClusterConfig = Field(description="EKS cluster to deploy into")
    encryption: EncryptionConfig = Field(default_factory=EncryptionConfig, description="customer KMS key")
    database: DatabaseConfig = Field(description="RDS PostgreSQL metadata DB")
    buckets: BucketsConfig = Field(description="DAG and log buckets")
    protection: ProtectionConfig = Field(description="protection of stateful resources")
    airflow: AirflowConfig = Field(description="Airflow release: version, sizing, HA, access")
    irsa: IrsaConfig = Field(default_factory=IrsaConfig, description="Airflow IAM roles")
    dags: DagsConfig = Field(default_factory=DagsConfig, description="DAG delivery")
    front_door: FrontDoorConfig = Field(description="load balancer in front of the Airflow UI and API")
    component_logs: ComponentLogsConfig = Field(
        default_factory=ComponentLogsConfig, description="Airflow component logs in CloudWatch Logs"
    )
    dr: DisasterRecoveryConfig = Field(default_factory=DisasterRecoveryConfig, description="copy in a second region")

    @property
    def namespace(self) -> str:
        """Kubernetes namespace of the Airflow release."""
        return self.airflow.namespace or f"airflow-{self.instance_name}"

    @cached_property
    def shape(self) -> AirflowShape:
        """Workloads, DAG readers and the chart's object names of this stack's release."""
        return AirflowShape(self.airflow.version, self.airflow.release_name, self.namespace)

    @property
    def base_tags(self) -> dict[str, str]:
        """Tags applied to every AWS resource."""
        return {
            **self.tags,
            "app": PROJECT,
            "environment": self.environment,
            "managed-by": "pulumi",
        }
