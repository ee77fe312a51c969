package docker

import (
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

// classify types an engine error for the scaling loop: an engine that cannot
// be reached (or says it is unavailable) is KindUnavailable, so the pool backs
// off; a missing object is KindNotFound. Other errors are returned as they are.
func classify(op, id string, err error) error {
	var typed *providers.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typed):
		return err
	case client.IsErrConnectionFailed(err), cerrdefs.IsUnavailable(err):
		return providers.NewError(providers.KindUnavailable, op, id, err)
	case cerrdefs.IsNotFound(err):
		return providers.NewError(providers.KindNotFound, op, id, err)
	}
	return err
}

// imageNotFound is the error for a pool image missing on the engine, saying
// how to get it there.
func imageNotFound(name, image string, err error) error {
	hint := "build it on the engine or pull it from a registry (docker pull " + image + ")"
	if imageRepo(image) == "agentcloud-agent" {
		hint = "build it with `make agent-image` (images/agent/build.sh)"
	}
	return providers.NewError(providers.KindNotFound, "create", name,
		fmt.Errorf("image %s not found on the engine: %s: %w", image, hint, err))
}

// imageRepo returns the last path element of an image reference, without tag
// or digest: "registry:5000/team/agentcloud-agent:dev" → "agentcloud-agent".
func imageRepo(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, "/"); i >= 0 {
		image = image[i+1:]
	}
	if i := strings.Index(image, ":"); i >= 0 {
		image = image[:i]
	}
	return image
}
