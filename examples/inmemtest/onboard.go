package inmemtest

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
)

// Team is what a team asks for: a name, the storage to cache, a quota on
// its cache, and how long cached data may live (0: until evicted).
type Team struct {
	Name  string
	UFS   string // e.g. "s3://bucket/teams/vision" or "file:///srv/vision"
	Quota api.Size
	TTL   time.Duration
}

var teamName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Onboard mounts the team's UFS at /teams/<name> and sets its quota and
// TTL, returning the mount point. It can be run again: an existing mount
// of the same UFS is kept and the policies are updated, while a mount of
// another UFS at that path is an error.
func Onboard(ctx context.Context, c *client.Client, t Team) (string, error) {
	if !teamName.MatchString(t.Name) {
		return "", fmt.Errorf("team name %q: want lower-case letters, digits and dashes", t.Name)
	}
	if t.Quota <= 0 {
		return "", fmt.Errorf("team %s: a quota is required", t.Name)
	}
	path := "/teams/" + t.Name
	if _, err := c.AddMount(ctx, api.Mount{Path: path, UFS: t.UFS}); client.IsConflict(err) {
		m, gerr := c.Mount(ctx, path)
		if gerr != nil || m.UFS != t.UFS {
			return "", fmt.Errorf("team %s: %w", t.Name, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("team %s: %w", t.Name, err)
	}
	if _, err := c.SetQuota(ctx, path, t.Quota); err != nil {
		return "", fmt.Errorf("team %s: quota: %w", t.Name, err)
	}
	if t.TTL > 0 {
		if _, err := c.SetTTL(ctx, path, t.TTL); err != nil {
			return "", fmt.Errorf("team %s: ttl: %w", t.Name, err)
		}
	}
	return path, nil
}
