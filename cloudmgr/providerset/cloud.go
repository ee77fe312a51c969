package providerset

import (
	"context"
	"log/slog"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/docker"
	"github.com/agentcloud/agentcloud/providers/ec2"
	"github.com/agentcloud/agentcloud/providers/gce"
)

// tlsSettings are the Docker settings that name files, resolved against the
// config file's folder like the local provider's paths.
var tlsSettings = []string{"tls_ca", "tls_cert", "tls_key"}

// dockerConfig reads a Docker provider's settings (see docker.ConfigFromSettings).
func dockerConfig(c config.Provider) (docker.Config, error) {
	settings := make(map[string]string, len(c.Settings))
	for k, v := range c.Settings {
		settings[k] = v
	}
	for _, k := range tlsSettings {
		if v := settings[k]; v != "" {
			settings[k] = anchor(c.Dir, v)
		}
	}
	return docker.ConfigFromSettings(c.Name, settings)
}

func dockerCapabilities(c config.Provider) (providers.Capabilities, error) {
	if _, err := dockerConfig(c); err != nil {
		return providers.Capabilities{}, err
	}
	return new(docker.Provider).Capabilities(), nil
}

func newDocker(ctx context.Context, c config.Provider, log *slog.Logger) (providers.Provider, error) {
	cfg, err := dockerConfig(c)
	if err != nil {
		return nil, err
	}
	return docker.New(ctx, cfg, log)
}

func checkDockerPool(settings map[string]string) error {
	_, err := docker.ParsePoolSettings(settings)
	return err
}

func ec2Capabilities(c config.Provider) (providers.Capabilities, error) {
	if _, err := ec2.ConfigFromSettings(c.Name, c.Settings); err != nil {
		return providers.Capabilities{}, err
	}
	return new(ec2.Provider).Capabilities(), nil
}

func newEC2(ctx context.Context, c config.Provider, log *slog.Logger) (providers.Provider, error) {
	cfg, err := ec2.ConfigFromSettings(c.Name, c.Settings)
	if err != nil {
		return nil, err
	}
	return ec2.New(ctx, cfg, log)
}

func gceCapabilities(c config.Provider) (providers.Capabilities, error) {
	if _, err := gce.ConfigFromSettings(c.Name, c.Settings); err != nil {
		return providers.Capabilities{}, err
	}
	return new(gce.Provider).Capabilities(), nil
}

func newGCE(ctx context.Context, c config.Provider, log *slog.Logger) (providers.Provider, error) {
	cfg, err := gce.ConfigFromSettings(c.Name, c.Settings)
	if err != nil {
		return nil, err
	}
	return gce.New(ctx, cfg, log)
}
