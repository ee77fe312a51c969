# Packer template of the agentcloud agent image for GCE pools.
#
# The image holds the agent binary, the agentcloud-agent systemd unit and the
# script that writes the agent's configuration from the instance's
# agentcloud-env metadata (which the GCE provider sets on every VM). The
# provider's startup-script restarts the unit once the configuration is
# written; the unit's own fetch makes the image work without it too.
#
#   make build                                  # puts the agent in ./bin/
#   packer init images/gce
#   packer build -var project_id=my-project images/gce
#
# Then use the image (or its family) in a pool's policy:
#   image: projects/my-project/global/images/family/agentcloud-agent

packer {
  required_version = ">= 1.10.0"
  required_plugins {
    googlecompute = {
      source  = "github.com/hashicorp/googlecompute"
      version = "~> 1.1"
    }
  }
}

variable "project_id" {
  type        = string
  description = "The project the image is built and stored in."
}

variable "zone" {
  type        = string
  default     = "us-central1-a"
  description = "The zone of the temporary build VM."
}

variable "source_image_family" {
  type        = string
  default     = "debian-12"
  description = "The public image family the agent image starts from."
}

variable "source_image_project_id" {
  type    = list(string)
  default = ["debian-cloud"]
}

variable "agent_binary" {
  type        = string
  default     = ""
  description = "The static agent binary (linux/amd64) to install; default bin/agent of the repository (make build)."
}

variable "image_family" {
  type    = string
  default = "agentcloud-agent"
}

variable "machine_type" {
  type    = string
  default = "e2-small"
}

variable "subnetwork" {
  type        = string
  default     = ""
  description = "Subnetwork of the build VM; empty for the default network."
}

locals {
  stamp        = regex_replace(timestamp(), "[- TZ:]", "")
  agent_binary = var.agent_binary != "" ? var.agent_binary : "${path.root}/../../bin/agent"
}

source "googlecompute" "agent" {
  project_id              = var.project_id
  zone                    = var.zone
  source_image_family     = var.source_image_family
  source_image_project_id = var.source_image_project_id
  machine_type            = var.machine_type
  subnetwork              = var.subnetwork
  disk_size               = 20
  ssh_username            = "packer"
  image_name              = "agentcloud-agent-${local.stamp}"
  image_family            = var.image_family
  image_description       = "agentcloud agent: systemd unit agentcloud-agent, configured from the agentcloud-env metadata"
  image_labels = {
    agentcloud-image = "agent"
  }
}

build {
  sources = ["source.googlecompute.agent"]

  provisioner "file" {
    source      = local.agent_binary
    destination = "/tmp/agent"
  }

  provisioner "file" {
    source      = "${path.root}/agentcloud-agent.service"
    destination = "/tmp/agentcloud-agent.service"
  }

  provisioner "file" {
    source      = "${path.root}/agentcloud-fetch-env"
    destination = "/tmp/agentcloud-fetch-env"
  }

  provisioner "shell" {
    inline = [
      "set -eu",
      "sudo apt-get update -q",
      "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl ca-certificates",
      "sudo useradd --system --home-dir /var/lib/agentcloud --shell /usr/sbin/nologin agentcloud",
      "sudo install -m 0755 /tmp/agent /usr/local/bin/agent",
      "sudo install -D -m 0755 /tmp/agentcloud-fetch-env /usr/local/lib/agentcloud/fetch-env",
      "sudo install -d -m 0755 /usr/local/lib/agentcloud/plugins /etc/agentcloud/facts.d",
      "sudo install -m 0644 /tmp/agentcloud-agent.service /etc/systemd/system/agentcloud-agent.service",
      "sudo systemctl daemon-reload",
      "sudo systemctl enable agentcloud-agent.service",
      "rm -f /tmp/agent /tmp/agentcloud-agent.service /tmp/agentcloud-fetch-env",
    ]
  }
}
