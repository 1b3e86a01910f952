package policy

// Mount binds an Alluxio path to a UFS location. Options carry UFS settings
// such as "s3.endpoint" and credentials; they are replicated as given and
// masked by the API when answered.
type Mount struct {
	Path    string            `json:"path" msgpack:"Path"`
	UFS     string            `json:"ufs" msgpack:"UFS"`
	Options map[string]string `json:"options,omitempty" msgpack:"Options"`
}
