// Packer template for the EC2 agent AMI: Debian 12 with the agentcloud agent
// (built by `make build` into bin/agent), its systemd unit (enabled; it starts
// once user-data has written /etc/agentcloud/agent.env), the SSM secret fetcher
// and the AWS CLI it uses.
//
//   packer validate images/ec2
//   packer build -var region=eu-west-1 images/ec2
//
// Written for Packer 1.6.6 (Debian's `packer` package), where the amazon
// builder is built in. Packer >= 1.10 needs the plugin first:
//   packer plugins install github.com/hashicorp/amazon
// (a required_plugins block would break Packer 1.6, so there is none).

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "Region the AMI is built in."
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "Instance type of the build machine."
}

variable "agent_binary" {
  type        = string
  default     = "bin/agent"
  description = "The static agent binary to install (linux/amd64), relative to where packer runs."
}

variable "ami_prefix" {
  type    = string
  default = "agentcloud-agent"
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet of the build machine; empty: the default VPC's."
}

locals {
  stamp = formatdate("YYYYMMDD-hhmmss", timestamp())
}

source "amazon-ebs" "agent" {
  region          = var.region
  instance_type   = var.instance_type
  subnet_id       = var.subnet_id
  ssh_username    = "admin"
  ami_name        = "${var.ami_prefix}-${local.stamp}"
  ami_description = "agentcloud agent on Debian 12"

  // The official Debian 12 AMIs (account 136693071363, the Debian cloud team).
  source_ami_filter {
    filters = {
      name                = "debian-12-amd64-*"
      architecture        = "x86_64"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["136693071363"]
    most_recent = true
  }

  // Encrypted root: pools with hibernate=true need it.
  encrypt_boot = true

  // IMDSv2: the provider requires it at every launch (metadata_options and
  // imds_support here need Packer >= 1.7/1.8, so they are left out).

  tags = {
    Name                   = "${var.ami_prefix}-${local.stamp}"
    "agentcloud-component" = "agent"
  }
}

build {
  sources = ["source.amazon-ebs.agent"]

  provisioner "file" {
    source      = var.agent_binary
    destination = "/tmp/agentcloud-agent"
  }

  provisioner "file" {
    source      = "${path.root}/agentcloud-agent.service"
    destination = "/tmp/agentcloud-agent.service"
  }

  provisioner "file" {
    source      = "${path.root}/fetch-secrets"
    destination = "/tmp/fetch-secrets"
  }

  provisioner "shell" {
    execute_command = "sudo sh -eux '{{ .Path }}'"
    inline = [
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get update",
      "apt-get install -y --no-install-recommends awscli ca-certificates curl",
      "apt-get clean",
      "id agentcloud >/dev/null 2>&1 || useradd --system --home-dir /var/lib/agentcloud --shell /usr/sbin/nologin agentcloud",
      "install -m 0755 /tmp/agentcloud-agent /usr/local/bin/agentcloud-agent",
      "install -d -m 0755 /usr/local/lib/agentcloud /usr/local/lib/agentcloud/plugins /etc/agentcloud /etc/agentcloud/facts.d",
      "install -m 0755 /tmp/fetch-secrets /usr/local/lib/agentcloud/fetch-secrets",
      "install -m 0644 /tmp/agentcloud-agent.service /etc/systemd/system/agentcloud-agent.service",
      "rm -f /tmp/agentcloud-agent /tmp/fetch-secrets /tmp/agentcloud-agent.service",
      "systemctl daemon-reload",
      "systemctl enable agentcloud-agent.service",
      // No configuration in the image: every instance gets its own from user-data.
      "rm -f /etc/agentcloud/agent.env /etc/agentcloud/ssm.env",
    ]
  }
}
