"""Physical names: the example stacks keep theirs; a second stack of the same profile shares none."""

from __future__ import annotations

from offline.physical_names import is_headline, physical_names
from tests.support import stack_inventory

# Taken from the plans before names derived from the stack: renaming any of these would replace the DB,
# empty a bucket or orphan an IAM role of a stack that is already up.
PINNED: dict[str, tuple[str, ...]] = {
    "dev": (
        "CloudWatch alarm etl-airflow-dev-metadata-connections",
        "CloudWatch alarm etl-airflow-dev-metadata-cpu",
        "CloudWatch alarm etl-airflow-dev-metadata-free-storage",
        "EKS cluster data-dev",
        "Helm release airflow-dev/airflow",
        "Helm release kube-system/aws-load-balancer-controller",
        "IAM role data-dev-aws-lb-controller",
        "IAM role data-dev-nodes",
        "IAM role etl-airflow-dev-api-server",
        "IAM role etl-airflow-dev-dag-processor",
        "IAM role etl-airflow-dev-scheduler",
        "IAM role etl-airflow-dev-triggerer",
        "IAM role etl-airflow-dev-worker",
        "RDS instance etl-airflow-dev-metadata",
        "RDS subnet group etl-airflow-dev-metadata",
        "S3 bucket etl-airflow-dags-dev-111122223333-eu-west-1",
        "S3 bucket etl-airflow-logs-dev-111122223333-eu-west-1",
        "load balancer etl-airflow-dev",
        "namespace airflow-dev",
        "security group etl-airflow-dev-lb",
        "security group etl-airflow-dev-metadata-db",
    ),
    "uat": (
        "CloudWatch alarm etl-airflow-uat-metadata-connections",
        "CloudWatch alarm etl-airflow-uat-metadata-cpu",
        "CloudWatch alarm etl-airflow-uat-metadata-free-storage",
        "Helm release airflow-uat/airflow",
        "IAM role etl-airflow-uat-api-server",
        "IAM role etl-airflow-uat-dag-processor",
        "IAM role etl-airflow-uat-metadata-rds-monitoring",
        "IAM role etl-airflow-uat-scheduler",
        "IAM role etl-airflow-uat-triggerer",
        "IAM role etl-airflow-uat-worker",
        "RDS final snapshot etl-airflow-uat-metadata-final",
        "RDS instance etl-airflow-uat-metadata",
        "RDS subnet group etl-airflow-uat-metadata",
        "S3 bucket etl-airflow-dags-uat-111122223333-eu-west-1",
        "S3 bucket etl-airflow-logs-uat-111122223333-eu-west-1",
        "load balancer etl-airflow-uat",
        "namespace airflow-uat",
        "security group etl-airflow-uat-lb",
        "security group etl-airflow-uat-metadata-db",
    ),
    "prod": (
        "CloudWatch alarm etl-airflow-prod-metadata-connections",
        "CloudWatch alarm etl-airflow-prod-metadata-cpu",
        "CloudWatch alarm etl-airflow-prod-metadata-free-storage",
        "Helm release airflow-prod/airflow",
        "IAM OIDC provider https://token.actions.githubusercontent.com",
        "IAM role etl-airflow-prod-api-server",
        "IAM role etl-airflow-prod-dag-processor",
        "IAM role etl-airflow-prod-metadata-rds-monitoring",
        "IAM role etl-airflow-prod-publish-analytics",
        "IAM role etl-airflow-prod-scheduler",
        "IAM role etl-airflow-prod-triggerer",
        "IAM role etl-airflow-prod-worker",
        "RDS final snapshot etl-airflow-prod-metadata-final",
        "RDS instance etl-airflow-prod-metadata",
        "RDS subnet group etl-airflow-prod-metadata",
        "Route 53 record airflow.data.example.com A",
        "S3 bucket etl-airflow-dags-prod-111122223333-eu-west-1",
        "S3 bucket etl-airflow-lb-logs-prod-111122223333-eu-west-1",
        "S3 bucket etl-airflow-logs-prod-111122223333-eu-west-1",
        "load balancer etl-airflow-prod",
        "namespace airflow-prod",
        "security group etl-airflow-prod-lb",
        "security group etl-airflow-prod-metadata-db",
    ),
}


def test_the_example_stacks_keep_their_physical_names():
    for stack, pinned in PINNED.items():
        names = tuple(n.shown for n in physical_names(stack_inventory(stack)) if is_headline(n))
        assert names == pinned, stack


def test_every_kubernetes_object_of_an_example_stack_lives_in_its_namespace_or_is_a_release():
    for stack in PINNED:
        for name in physical_names(stack_inventory(stack)):
            if not is_headline(name):
                assert name.name.startswith(f"airflow-{stack}/"), name
