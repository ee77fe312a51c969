package gcefake

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The JSON shapes below are the fake's own, written from the Compute API's
// discovery document (compute/v1/compute-api.json), not generated from the
// SDK, so the fake does not share the client's serialisation. A test checks
// every field they emit against the discovery schemas.

// Instance statuses the fake emits (a subset of the Instance.status enum).
const (
	StatusProvisioning = "PROVISIONING"
	StatusStaging      = "STAGING"
	StatusRunning      = "RUNNING"
	StatusStopping     = "STOPPING"
	StatusTerminated   = "TERMINATED"
	StatusSuspending   = "SUSPENDING"
	StatusSuspended    = "SUSPENDED"
	StatusRepairing    = "REPAIRING"
)

// instanceStatuses lists every instance status the fake can emit.
var instanceStatuses = []string{
	StatusProvisioning, StatusStaging, StatusRunning, StatusStopping,
	StatusTerminated, StatusSuspending, StatusSuspended, StatusRepairing,
}

// Disk statuses the fake emits.
const (
	DiskCreating = "CREATING"
	DiskReady    = "READY"
	DiskDeleting = "DELETING"
)

// diskStatuses lists every disk status the fake can emit.
var diskStatuses = []string{DiskCreating, DiskReady, DiskDeleting}

// Operation statuses.
const (
	OpPending = "PENDING"
	OpRunning = "RUNNING"
	OpDone    = "DONE"
)

// opStatuses lists every operation status the fake can emit.
var opStatuses = []string{OpPending, OpRunning, OpDone}

// Int64 is an int64 that JSON carries as a string, as Google APIs do; it
// also accepts a bare number.
type Int64 int64

// MarshalJSON writes the number as a string.
func (n Int64) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatInt(int64(n), 10))
}

// UnmarshalJSON reads a string or a number.
func (n *Int64) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("int64 field: %q is not a number", s)
		}
		*n = Int64(v)
		return nil
	}
	var v int64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("int64 field: %s is neither a string nor a number", b)
	}
	*n = Int64(v)
	return nil
}

// Instance is the Compute Instance resource (the fields the fake models).
type Instance struct {
	Kind                   string             `json:"kind,omitempty"`
	ID                     string             `json:"id,omitempty"`
	CreationTimestamp      string             `json:"creationTimestamp,omitempty"`
	Name                   string             `json:"name,omitempty"`
	Description            string             `json:"description,omitempty"`
	Zone                   string             `json:"zone,omitempty"`
	MachineType            string             `json:"machineType,omitempty"`
	CPUPlatform            string             `json:"cpuPlatform,omitempty"`
	Status                 string             `json:"status,omitempty"`
	StatusMessage          string             `json:"statusMessage,omitempty"`
	Labels                 map[string]string  `json:"labels,omitempty"`
	LabelFingerprint       string             `json:"labelFingerprint,omitempty"`
	Metadata               *Metadata          `json:"metadata,omitempty"`
	Tags                   *Tags              `json:"tags,omitempty"`
	Disks                  []AttachedDisk     `json:"disks,omitempty"`
	NetworkInterfaces      []NetworkInterface `json:"networkInterfaces,omitempty"`
	ServiceAccounts        []ServiceAccount   `json:"serviceAccounts,omitempty"`
	Scheduling             *Scheduling        `json:"scheduling,omitempty"`
	LastStartTimestamp     string             `json:"lastStartTimestamp,omitempty"`
	LastStopTimestamp      string             `json:"lastStopTimestamp,omitempty"`
	LastSuspendedTimestamp string             `json:"lastSuspendedTimestamp,omitempty"`
	Fingerprint            string             `json:"fingerprint,omitempty"`
	SelfLink               string             `json:"selfLink,omitempty"`
}

// Metadata is an instance's metadata.
type Metadata struct {
	Kind        string         `json:"kind,omitempty"`
	Fingerprint string         `json:"fingerprint,omitempty"`
	Items       []MetadataItem `json:"items,omitempty"`
}

// MetadataItem is one metadata key and value.
type MetadataItem struct {
	Key   string  `json:"key"`
	Value *string `json:"value,omitempty"`
}

// Tags are an instance's network tags.
type Tags struct {
	Items       []string `json:"items,omitempty"`
	Fingerprint string   `json:"fingerprint,omitempty"`
}

// Scheduling is the part of an instance's scheduling options the fake keeps.
type Scheduling struct {
	AutomaticRestart  *bool  `json:"automaticRestart,omitempty"`
	OnHostMaintenance string `json:"onHostMaintenance,omitempty"`
	Preemptible       bool   `json:"preemptible,omitempty"`
	ProvisioningModel string `json:"provisioningModel,omitempty"`
}

// AttachedDisk is a disk as an instance sees it.
type AttachedDisk struct {
	Kind             string                        `json:"kind,omitempty"`
	Type             string                        `json:"type,omitempty"`
	Mode             string                        `json:"mode,omitempty"`
	Source           string                        `json:"source,omitempty"`
	DeviceName       string                        `json:"deviceName,omitempty"`
	Index            int                           `json:"index,omitempty"`
	Boot             bool                          `json:"boot,omitempty"`
	AutoDelete       bool                          `json:"autoDelete,omitempty"`
	Interface        string                        `json:"interface,omitempty"`
	DiskSizeGb       Int64                         `json:"diskSizeGb,omitempty"`
	InitializeParams *AttachedDiskInitializeParams `json:"initializeParams,omitempty"`
}

// AttachedDiskInitializeParams creates a new disk with an instance (request only).
type AttachedDiskInitializeParams struct {
	DiskName    string            `json:"diskName,omitempty"`
	SourceImage string            `json:"sourceImage,omitempty"`
	DiskSizeGb  Int64             `json:"diskSizeGb,omitempty"`
	DiskType    string            `json:"diskType,omitempty"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// NetworkInterface is one of an instance's network interfaces.
type NetworkInterface struct {
	Kind          string         `json:"kind,omitempty"`
	Name          string         `json:"name,omitempty"`
	Network       string         `json:"network,omitempty"`
	Subnetwork    string         `json:"subnetwork,omitempty"`
	NetworkIP     string         `json:"networkIP,omitempty"`
	StackType     string         `json:"stackType,omitempty"`
	AccessConfigs []AccessConfig `json:"accessConfigs,omitempty"`
	Fingerprint   string         `json:"fingerprint,omitempty"`
}

// AccessConfig gives an interface an external address.
type AccessConfig struct {
	Kind        string `json:"kind,omitempty"`
	Type        string `json:"type,omitempty"`
	Name        string `json:"name,omitempty"`
	NatIP       string `json:"natIP,omitempty"`
	NetworkTier string `json:"networkTier,omitempty"`
}

// ServiceAccount is the identity an instance runs as.
type ServiceAccount struct {
	Email  string   `json:"email,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
}

// Disk is the Compute Disk resource (zonal persistent disks).
type Disk struct {
	Kind                string            `json:"kind,omitempty"`
	ID                  string            `json:"id,omitempty"`
	CreationTimestamp   string            `json:"creationTimestamp,omitempty"`
	Name                string            `json:"name,omitempty"`
	Description         string            `json:"description,omitempty"`
	Zone                string            `json:"zone,omitempty"`
	SizeGb              Int64             `json:"sizeGb,omitempty"`
	Status              string            `json:"status,omitempty"`
	SourceImage         string            `json:"sourceImage,omitempty"`
	Type                string            `json:"type,omitempty"`
	Labels              map[string]string `json:"labels,omitempty"`
	LabelFingerprint    string            `json:"labelFingerprint,omitempty"`
	Users               []string          `json:"users,omitempty"`
	LastAttachTimestamp string            `json:"lastAttachTimestamp,omitempty"`
	LastDetachTimestamp string            `json:"lastDetachTimestamp,omitempty"`
	SelfLink            string            `json:"selfLink,omitempty"`
}

// Operation is a zonal long-running operation.
type Operation struct {
	Kind                string          `json:"kind,omitempty"`
	ID                  string          `json:"id,omitempty"`
	Name                string          `json:"name,omitempty"`
	Zone                string          `json:"zone,omitempty"`
	OperationType       string          `json:"operationType,omitempty"`
	TargetLink          string          `json:"targetLink,omitempty"`
	TargetID            string          `json:"targetId,omitempty"`
	Status              string          `json:"status,omitempty"`
	User                string          `json:"user,omitempty"`
	Progress            int             `json:"progress"`
	InsertTime          string          `json:"insertTime,omitempty"`
	StartTime           string          `json:"startTime,omitempty"`
	EndTime             string          `json:"endTime,omitempty"`
	Error               *OperationError `json:"error,omitempty"`
	HTTPErrorStatusCode int             `json:"httpErrorStatusCode,omitempty"`
	HTTPErrorMessage    string          `json:"httpErrorMessage,omitempty"`
	SelfLink            string          `json:"selfLink,omitempty"`
}

// OperationError holds the errors of a failed operation.
type OperationError struct {
	Errors []OperationErrorItem `json:"errors"`
}

// OperationErrorItem is one error of a failed operation.
type OperationErrorItem struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// instanceList is the answer of instances.list.
type instanceList struct {
	Kind          string     `json:"kind"`
	ID            string     `json:"id"`
	Items         []Instance `json:"items,omitempty"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
	SelfLink      string     `json:"selfLink"`
}

// instanceAggregatedList is the answer of instances.aggregatedList.
type instanceAggregatedList struct {
	Kind          string                         `json:"kind"`
	ID            string                         `json:"id"`
	Items         map[string]instancesScopedList `json:"items"`
	NextPageToken string                         `json:"nextPageToken,omitempty"`
	Unreachables  []string                       `json:"unreachables,omitempty"`
	SelfLink      string                         `json:"selfLink"`
}

// instancesScopedList is one zone's part of an aggregated list.
type instancesScopedList struct {
	Instances []Instance `json:"instances,omitempty"`
	Warning   *warning   `json:"warning,omitempty"`
}

// diskList is the answer of disks.list.
type diskList struct {
	Kind          string `json:"kind"`
	ID            string `json:"id"`
	Items         []Disk `json:"items,omitempty"`
	NextPageToken string `json:"nextPageToken,omitempty"`
	SelfLink      string `json:"selfLink"`
}

// diskAggregatedList is the answer of disks.aggregatedList.
type diskAggregatedList struct {
	Kind          string                     `json:"kind"`
	ID            string                     `json:"id"`
	Items         map[string]disksScopedList `json:"items"`
	NextPageToken string                     `json:"nextPageToken,omitempty"`
	Unreachables  []string                   `json:"unreachables,omitempty"`
	SelfLink      string                     `json:"selfLink"`
}

// disksScopedList is one zone's part of an aggregated disk list.
type disksScopedList struct {
	Disks   []Disk   `json:"disks,omitempty"`
	Warning *warning `json:"warning,omitempty"`
}

// warning is a list scope's warning (NO_RESULTS_ON_PAGE for an empty zone).
type warning struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Data    []warningData `json:"data,omitempty"`
}

// warningData is one key and value of a warning.
type warningData struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// labelsRequest is the body of instances.setLabels and disks.setLabels.
type labelsRequest struct {
	Labels           map[string]string `json:"labels"`
	LabelFingerprint string            `json:"labelFingerprint"`
}
