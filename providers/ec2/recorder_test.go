package ec2

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// recorder wraps a region's API: it counts calls per operation, keeps the
// inputs of RunInstances and StopInstances, and lets a test inject an error
// before a call (fault) or rewrite what DescribeInstances answers (rewrite).
type recorder struct {
	API
	region string

	mu      sync.Mutex
	calls   map[string]int
	runs    []*ec2.RunInstancesInput
	stops   []*ec2.StopInstancesInput
	fault   func(op string) error
	rewrite func(in *types.Instance) (keep bool)
}

// newRecorder wraps api.
func newRecorder(region string, api API) *recorder {
	return &recorder{API: api, region: region, calls: map[string]int{}}
}

// count returns the calls of op so far.
func (r *recorder) count(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[op]
}

// reset forgets the counts and inputs.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.runs, r.stops = map[string]int{}, nil, nil
}

// runInputs returns the RunInstances inputs so far.
func (r *recorder) runInputs() []*ec2.RunInstancesInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*ec2.RunInstancesInput(nil), r.runs...)
}

// setFault sets (nil: clears) the error injector.
func (r *recorder) setFault(f func(op string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fault = f
}

// setRewrite sets (nil: clears) the DescribeInstances rewriter: it may change
// an instance, or drop it by returning false.
func (r *recorder) setRewrite(f func(in *types.Instance) (keep bool)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rewrite = f
}

// enter counts a call and returns the injected error, if any.
func (r *recorder) enter(op string) error {
	r.mu.Lock()
	r.calls[op]++
	f := r.fault
	r.mu.Unlock()
	if f != nil {
		return f(op)
	}
	return nil
}

// apiError builds the error the SDK returns for an EC2 error code.
func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "injected " + code}
}

func (r *recorder) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, o ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := r.enter("DescribeInstances"); err != nil {
		return nil, err
	}
	out, err := r.API.DescribeInstances(ctx, in, o...)
	r.mu.Lock()
	rw := r.rewrite
	r.mu.Unlock()
	if err == nil && rw != nil {
		for i := range out.Reservations {
			var kept []types.Instance
			for _, in := range out.Reservations[i].Instances {
				if rw(&in) {
					kept = append(kept, in)
				}
			}
			out.Reservations[i].Instances = kept
		}
	}
	return out, err
}

func (r *recorder) RunInstances(ctx context.Context, in *ec2.RunInstancesInput, o ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	r.mu.Lock()
	r.runs = append(r.runs, in)
	r.mu.Unlock()
	if err := r.enter("RunInstances"); err != nil {
		return nil, err
	}
	return r.API.RunInstances(ctx, in, o...)
}

func (r *recorder) StartInstances(ctx context.Context, in *ec2.StartInstancesInput, o ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error) {
	if err := r.enter("StartInstances"); err != nil {
		return nil, err
	}
	return r.API.StartInstances(ctx, in, o...)
}

func (r *recorder) StopInstances(ctx context.Context, in *ec2.StopInstancesInput, o ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	r.mu.Lock()
	r.stops = append(r.stops, in)
	r.mu.Unlock()
	if err := r.enter("StopInstances"); err != nil {
		return nil, err
	}
	return r.API.StopInstances(ctx, in, o...)
}

func (r *recorder) TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, o ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	if err := r.enter("TerminateInstances"); err != nil {
		return nil, err
	}
	return r.API.TerminateInstances(ctx, in, o...)
}

func (r *recorder) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, o ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	if err := r.enter("CreateTags"); err != nil {
		return nil, err
	}
	return r.API.CreateTags(ctx, in, o...)
}

func (r *recorder) DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, o ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error) {
	if err := r.enter("DeleteTags"); err != nil {
		return nil, err
	}
	return r.API.DeleteTags(ctx, in, o...)
}

func (r *recorder) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, o ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	if err := r.enter("DescribeImages"); err != nil {
		return nil, err
	}
	return r.API.DescribeImages(ctx, in, o...)
}

func (r *recorder) DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, o ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	if err := r.enter("DescribeSubnets"); err != nil {
		return nil, err
	}
	return r.API.DescribeSubnets(ctx, in, o...)
}

// tokens emulates EC2's ClientToken idempotency on top of moto, which ignores
// tokens: a token seen before returns its instance as it is now (terminated
// included), and a token reused with other parameters fails with
// IdempotentParameterMismatch.
type tokens struct {
	API

	mu   sync.Mutex
	seen map[string]tokenUse
}

// tokenUse is what a token launched.
type tokenUse struct {
	id, image, itype, subnet string
}

// newTokens wraps api.
func newTokens(api API) *tokens { return &tokens{API: api, seen: map[string]tokenUse{}} }

// use is a RunInstances input's parameters as tokens compares them.
func use(in *ec2.RunInstancesInput) tokenUse {
	return tokenUse{image: aws.ToString(in.ImageId), itype: string(in.InstanceType), subnet: aws.ToString(in.SubnetId)}
}

func (k *tokens) RunInstances(ctx context.Context, in *ec2.RunInstancesInput, o ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	tok := aws.ToString(in.ClientToken)
	k.mu.Lock()
	prev, ok := k.seen[tok]
	k.mu.Unlock()
	if ok {
		u := use(in)
		u.id = prev.id
		if u != prev {
			return nil, apiError("IdempotentParameterMismatch")
		}
		res, err := k.API.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{prev.id}})
		if err != nil {
			return nil, err
		}
		return &ec2.RunInstancesOutput{Instances: res.Reservations[0].Instances}, nil
	}
	out, err := k.API.RunInstances(ctx, in, o...)
	if err == nil && tok != "" {
		u := use(in)
		u.id = aws.ToString(out.Instances[0].InstanceId)
		k.mu.Lock()
		k.seen[tok] = u
		k.mu.Unlock()
	}
	return out, err
}
