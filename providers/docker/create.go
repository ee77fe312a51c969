package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

// cleanupTimeout bounds the removal of a container whose start failed, which
// runs even when the caller's context has ended.
const cleanupTimeout = 30 * time.Second

// Create creates and starts a container per request, up to
// providers.DefaultParallel at once, and returns the ones that run, in request order. A name that exists
// with the same owner is adopted (started if it is not running), never
// duplicated; one with another owner is an error. A missing image is a
// KindNotFound error naming it.
func (p *Provider) Create(ctx context.Context, reqs []providers.CreateRequest) ([]providers.Instance, error) {
	insts := make([]providers.Instance, len(reqs))
	errs := make([]error, len(reqs))
	providers.Parallel(len(reqs), providers.DefaultParallel, func(i int) {
		in, err := p.createOne(ctx, reqs[i])
		if err != nil {
			errs[i] = fmt.Errorf("creating instance %s: %w", reqs[i].Name, err)
			return
		}
		insts[i] = in
	})
	var out []providers.Instance
	for i := range reqs {
		if errs[i] == nil {
			out = append(out, insts[i])
		}
	}
	return out, errors.Join(errs...)
}

// createOne creates, or adopts, the container of one request.
func (p *Provider) createOne(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if err := ctx.Err(); err != nil {
		return providers.Instance{}, err
	}
	if !validContainerName(req.Name) {
		return providers.Instance{}, fmt.Errorf("invalid name %q: want a letter or digit, then letters, digits, '_', '.' or '-', 2 to 200 in all", req.Name)
	}
	if req.Image == "" {
		return providers.Instance{}, errors.New("the pool has no image")
	}
	ps, err := ParsePoolSettings(req.Settings)
	if err != nil {
		return providers.Instance{}, fmt.Errorf("pool %s: %w", req.Pool, err)
	}
	defer p.lock("name:" + req.Name)()

	existing, err := p.eng.ContainerInspect(ctx, req.Name, client.ContainerInspectOptions{})
	switch {
	case err == nil:
		return p.adopt(ctx, req, existing.Container)
	case !cerrdefs.IsNotFound(err):
		return providers.Instance{}, fmt.Errorf("looking for an existing container: %w", classify("create", req.Name, err))
	}

	img, err := p.eng.ImageInspect(ctx, req.Image)
	if cerrdefs.IsNotFound(err) {
		return providers.Instance{}, imageNotFound(req.Name, req.Image, err)
	}
	if err != nil {
		return providers.Instance{}, fmt.Errorf("inspecting image %s: %w", req.Image, classify("create", req.Name, err))
	}
	var imageVolumes []string
	if img.Config != nil {
		imageVolumes = slices.Sorted(maps.Keys(img.Config.Volumes))
	}

	opts := p.createOptions(req, ps, imageVolumes)
	created, err := p.eng.ContainerCreate(ctx, opts)
	switch {
	case cerrdefs.IsConflict(err):
		// Created meanwhile, by another process: adopt it.
		return p.adoptRacing(ctx, req)
	case cerrdefs.IsNotFound(err) && strings.Contains(strings.ToLower(err.Error()), "image"):
		return providers.Instance{}, imageNotFound(req.Name, req.Image, err) // removed since ImageInspect
	case err != nil:
		return providers.Instance{}, fmt.Errorf("creating the container: %w", p.startError(req, opts, err))
	}
	for _, w := range created.Warnings {
		p.log.Warn("engine warning on create", "instance", req.Name, "warning", w)
	}
	now := p.now()
	if _, err := p.eng.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		// A container that cannot start (bad network, limits the engine refuses)
		// is removed, so the failure is not left behind as a pending instance.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if _, rerr := p.eng.ContainerRemove(cctx, created.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil && !cerrdefs.IsNotFound(rerr) {
			p.log.Warn("could not remove a container that failed to start; List shows it pending", "instance", req.Name, "err", rerr)
		}
		return providers.Instance{}, fmt.Errorf("starting the container: %w", p.startError(req, opts, err))
	}
	p.log.Info("created instance", "instance", req.Name, "id", shortID(created.ID), "image", req.Image, "pool", req.Pool)
	c := ctr{id: created.ID, name: req.Name, state: string(container.StateRunning), labels: opts.Config.Labels}
	return instanceOf(c, now, marker{}), nil
}

// startError types an error of creating or starting a new container. A
// missing network, or limits the engine refuses, come from the pool's or the
// provider's settings, not from a missing instance: they are plain errors
// naming the settings.
func (p *Provider) startError(req providers.CreateRequest, opts client.ContainerCreateOptions, err error) error {
	switch {
	case cerrdefs.IsNotFound(err) && strings.Contains(strings.ToLower(err.Error()), "network"):
		return fmt.Errorf("network %q (settings.network) does not exist on the engine: %w", opts.HostConfig.NetworkMode, err)
	case cerrdefs.IsInvalidArgument(err):
		return fmt.Errorf("the engine refused the container's settings (cpus, memory, network, extra_hosts of the pool or provider): %w", err)
	}
	return classify("create", req.Name, err)
}

// adoptRacing adopts a container another process is creating under the same
// name: the engine reserves the name before the container can be inspected,
// so a not-found is retried for a while.
func (p *Provider) adoptRacing(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	deadline := p.now().Add(raceWait)
	for {
		existing, err := p.eng.ContainerInspect(ctx, req.Name, client.ContainerInspectOptions{})
		if err == nil {
			return p.adopt(ctx, req, existing.Container)
		}
		if !cerrdefs.IsNotFound(err) || p.now().After(deadline) {
			return providers.Instance{}, fmt.Errorf("adopting the container created meanwhile under the same name: %w", classify("create", req.Name, err))
		}
		select {
		case <-ctx.Done():
			return providers.Instance{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// raceWait bounds how long Create waits for a container another process is
// creating under the same name to become visible.
const raceWait = 10 * time.Second

// adopt returns an existing container of the same owner, started if it is not
// running.
func (p *Provider) adopt(ctx context.Context, req providers.CreateRequest, r container.InspectResponse) (providers.Instance, error) {
	c := ctrOfInspect(r)
	owner, ok := c.labels[providers.LabelOwner]
	switch {
	case !ok:
		return providers.Instance{}, fmt.Errorf("the name is taken by container %s, which is not an agentcloud container (no %s label)", shortID(c.id), providers.LabelOwner)
	case owner != req.Owner:
		return providers.Instance{}, fmt.Errorf("the name is taken by container %s of owner %q", shortID(c.id), owner)
	}
	defer p.lock(c.id)()
	m, err := p.ensureRunning(ctx, "create", c)
	if err != nil {
		return providers.Instance{}, fmt.Errorf("adopting container %s: %w", shortID(c.id), err)
	}
	p.log.Info("adopted existing instance", "instance", req.Name, "id", shortID(c.id), "was", c.state)
	c.state = string(container.StateRunning)
	return instanceOf(c, createdOf(r), m), nil
}

// createOptions builds the container of a request.
func (p *Provider) createOptions(req providers.CreateRequest, ps PoolSettings, imageVolumes []string) client.ContainerCreateOptions {
	n := p.networkingFor(ps)
	env := map[string]string{}
	maps.Copy(env, req.Env)
	maps.Copy(env, p.cfg.Env)
	env["AGENTCLOUD_AGENT_ID"] = req.Name
	env["AGENTCLOUD_INSTANCE"] = req.Name
	if u, ok := env["AGENTCLOUD_BROKER_URL"]; ok {
		env["AGENTCLOUD_BROKER_URL"] = brokerURL(u, n.brokerHost)
	}
	envList := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}
	labels := containerLabels(req)
	stopSecs := int(p.cfg.StopTimeout / time.Second)
	useInit := !p.cfg.NoInit
	// The image's VOLUMEs would become anonymous volumes without our labels;
	// mounting an anonymous volume there ourselves labels it, so it is found
	// by owner, and it is still removed with the container.
	var mounts []mount.Mount
	for _, target := range imageVolumes {
		mounts = append(mounts, mount.Mount{
			Type:   mount.TypeVolume,
			Target: target,
			VolumeOptions: &mount.VolumeOptions{
				Labels: withLabels(identityLabels(labels), map[string]string{LabelName: req.Name}),
			},
		})
	}
	return client.ContainerCreateOptions{
		Name: req.Name,
		Config: &container.Config{
			Image:       req.Image,
			Env:         envList,
			Labels:      labels,
			StopTimeout: &stopSecs,
		},
		HostConfig: &container.HostConfig{
			NetworkMode:   container.NetworkMode(n.mode),
			ExtraHosts:    n.extraHosts,
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(p.cfg.Restart)},
			Init:          &useInit,
			Resources:     container.Resources{NanoCPUs: ps.NanoCPUs, Memory: ps.Memory},
			Mounts:        mounts,
		},
	}
}

// validContainerName reports whether Docker accepts name for a container.
func validContainerName(name string) bool {
	return len(name) >= 2 && validObjectName(name)
}

// shortID shortens a container id for logs and messages.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
