"""AWS CDK constructs that start AWS DMS replication tasks from CloudFormation."""
