package gce

import (
	"fmt"
	"hash/fnv"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Labels the GCE provider adds besides those of providers (§4.1).
const (
	// LabelCreatedAt holds the Unix time in milliseconds the machine was
	// first created; it survives a delete-keep-disk suspend and resume.
	LabelCreatedAt = "agentcloud-created-at"
	// LabelResumedAt holds the Unix time in milliseconds of the last resume,
	// so a resuming machine reports a fresh StartedAt while it boots (GCE
	// keeps no resume time of its own).
	LabelResumedAt = "agentcloud-resumed-at"
)

// Metadata keys the provider sets on every instance.
const (
	// MetadataEnv holds the agent's configuration as KEY='value' lines.
	MetadataEnv = "agentcloud-env"
	// MetadataStartupScript is GCE's startup-script key.
	MetadataStartupScript = "startup-script"
)

// Identity metadata keys: the exact owner, installation and pool, which the
// labels may only hold sanitised.
const (
	metaOwner        = "agentcloud-owner"
	metaInstallation = "agentcloud-installation"
	metaPool         = "agentcloud-pool"
)

// maxLabelLen is the longest GCE label key or value.
const maxLabelLen = 63

// labelValue sanitises a string into a GCE label value: lowercase letters,
// digits, '_' and '-', at most 63 characters. Other characters become '-';
// a longer value is cut and ends in a hash of the whole, so two long values
// stay apart. Sanitising loses case and punctuation, which is why the exact
// owner, installation and pool also travel in the instance's metadata.
func labelValue(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	v := b.String()
	if len(v) <= maxLabelLen {
		return v
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	sum := fmt.Sprintf("%08x", h.Sum32())
	return v[:maxLabelLen-len(sum)-1] + "-" + sum
}

// labelKey sanitises a string into a GCE label key: like a value, but it
// must start with a lowercase letter (an "x" is put in front otherwise).
func labelKey(s string) string {
	k := labelValue(s)
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		k = labelValue("x" + s)
	}
	return k
}

// identityLabels are the §4.1 labels of a request, sanitised.
func identityLabels(owner, installation, pool string) map[string]string {
	return map[string]string{
		providers.LabelOwner:        labelValue(owner),
		providers.LabelInstallation: labelValue(installation),
		providers.LabelPool:         labelValue(pool),
	}
}

// ownerFilter is the list filter that selects the owner's resources.
func ownerFilter(owner string) string {
	return fmt.Sprintf("labels.%s = %q", providers.LabelOwner, labelValue(owner))
}

// keptDiskFilter selects the owner's disks labelled suspended: the boot
// disks delete-keep-disk kept (and, briefly, one being kept or resumed).
func keptDiskFilter(owner string) string {
	return fmt.Sprintf("(%s) (labels.%s:*)", ownerFilter(owner), providers.LabelSuspendedAt)
}

// unixLabel formats a time as a label value (Unix seconds).
func unixLabel(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// unixMilliLabel formats a time as a label value (Unix milliseconds).
func unixMilliLabel(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// parseUnixMilliLabel reads a Unix-milliseconds label; ok is false when absent or bad.
func parseUnixMilliLabel(labels map[string]string, key string) (time.Time, bool) {
	n, err := strconv.ParseInt(labels[key], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n), true
}

// parseUnixLabel reads a Unix-seconds label; ok is false when absent or bad.
func parseUnixLabel(labels map[string]string, key string) (time.Time, bool) {
	v, ok := labels[key]
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// withLabels returns a copy of labels with set added and del removed.
func withLabels(labels map[string]string, set map[string]string, del ...string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, set)
	for _, k := range del {
		delete(out, k)
	}
	return out
}
