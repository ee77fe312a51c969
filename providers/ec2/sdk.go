package ec2

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// API is the part of the EC2 SDK client the provider uses, one client per
// region. Every operation here needs a matching grant in images/ec2/iam-policy.json
// (a test checks it). Tests wrap it to count calls and inject faults.
type API interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	RunInstances(ctx context.Context, in *ec2.RunInstancesInput, optFns ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error)
	StartInstances(ctx context.Context, in *ec2.StartInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error)
	StopInstances(ctx context.Context, in *ec2.StopInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
	TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, optFns ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, optFns ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
}

var _ API = (*ec2.Client)(nil)

// newClients loads the SDK's default configuration once and builds a client
// per region. It checks that the default chain yields credentials.
func newClients(ctx context.Context, cfg Config) (map[string]API, error) {
	awsCfg, err := loadAWSConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("no AWS credentials from the SDK's default chain (AWS_* environment variables, "+
			"shared config and profile, web identity, ECS or the EC2 instance role): %w", err)
	}
	clients := make(map[string]API, len(cfg.Regions))
	for _, region := range cfg.Regions {
		clients[region] = ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
			o.Region = region
			if cfg.Endpoint != "" {
				o.BaseEndpoint = aws.String(cfg.Endpoint)
			}
		})
	}
	return clients, nil
}

// loadAWSConfig loads the SDK's default configuration with the provider's
// retry policy and, where set, its profile.
func loadAWSConfig(ctx context.Context, cfg Config) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.Regions[0]),
		awsconfig.WithRetryer(func() aws.Retryer { return newRetryer(cfg.MaxAttempts) }),
	}
	if cfg.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.Profile))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS SDK's default configuration: %w", err)
	}
	return awsCfg, nil
}

// newRetryer is the SDK's standard retryer that never retries the errors
// cloudmgr must see at once: capacity (the next offering is tried instead),
// quota and permission errors, which a retry cannot fix.
func newRetryer(maxAttempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(noRetry)}, o.Retryables...)
	})
}

// noRetry vetoes retries of capacity, quota and permission errors and leaves
// every other error to the standard rules.
func noRetry(err error) aws.Ternary {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return aws.UnknownTernary
	}
	switch kindOfCode(ae.ErrorCode()) {
	case codeCapacity, codeQuota, codePermission:
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}
