package gcefake

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// page is a parsed list request: its filter and the slice of results it wants.
type page struct {
	filter filter
	max    int
	offset int
}

// parsePage reads filter, maxResults and pageToken.
func parsePage(rq *request) (page, *apiError) {
	q := rq.r.URL.Query()
	f, err := parseFilter(q.Get("filter"))
	if err == nil {
		err = f.check("name", "status")
	}
	if err != nil {
		return page{}, errInvalid("Invalid value for field 'filter': '%s'. %v", q.Get("filter"), err)
	}
	p := page{filter: f, max: defaultListResults}
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxListResults {
			return page{}, errInvalid("Invalid value for field 'maxResults': '%s'. Must be less than or equal to %d", v, maxListResults)
		}
		if n > 0 {
			p.max = n
		}
	}
	if tok := q.Get("pageToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "offset:") || n < 0 {
			return page{}, errInvalid("Invalid value for field 'pageToken': '%s'.", tok)
		}
		p.offset = n
	}
	return p, nil
}

// cut returns the page's part of n results and the next page token.
func (p page) cut(n int) (from, to int, next string) {
	from = min(p.offset, n)
	to = min(from+p.max, n)
	if to < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(to)))
	}
	return from, to, next
}

// matchingInstances returns the instances of the zones that pass the
// filter, sorted by zone and name.
func (s *Server) matchingInstances(f filter, zones []string) []*instance {
	var out []*instance
	for _, in := range s.instances {
		if slices.Contains(zones, in.zone) && f.match(resourceField(in.Name, in.Status, in.Labels)) {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b *instance) int {
		return cmp.Or(cmp.Compare(a.zone, b.zone), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// matchingDisks returns the disks of the zones that pass the filter, sorted
// by zone and name.
func (s *Server) matchingDisks(f filter, zones []string) []*disk {
	var out []*disk
	for _, dk := range s.disks {
		if slices.Contains(zones, dk.zone) && f.match(resourceField(dk.Name, dk.Status, dk.Labels)) {
			out = append(out, dk)
		}
	}
	slices.SortFunc(out, func(a, b *disk) int {
		return cmp.Or(cmp.Compare(a.zone, b.zone), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// reachable splits the fake's zones into those aggregated lists answer for
// and the "zones/<zone>" scopes they report unreachable.
func (s *Server) reachable() (zones, unreachables []string) {
	for _, z := range s.cfg.Zones {
		if s.unreachable[z] {
			unreachables = append(unreachables, "zones/"+z)
		} else {
			zones = append(zones, z)
		}
	}
	return zones, unreachables
}

// noResults is the warning of a scope with nothing on the page.
func noResults(scope string) *warning {
	return &warning{
		Code:    "NO_RESULTS_ON_PAGE",
		Message: fmt.Sprintf("There are no results for scope '%s' on this page.", scope),
		Data:    []warningData{{Key: "scope", Value: scope}},
	}
}

// listInstances serves instances.list.
func (s *Server) listInstances(rq *request) (any, *apiError) {
	p, e := parsePage(rq)
	if e != nil {
		return nil, e
	}
	all := s.matchingInstances(p.filter, []string{rq.zone})
	from, to, next := p.cut(len(all))
	out := instanceList{Kind: "compute#instanceList", ID: "projects/" + s.cfg.Project + "/zones/" + rq.zone + "/instances",
		NextPageToken: next, SelfLink: s.zoneLink(rq.zone) + "/instances"}
	for _, in := range all[from:to] {
		out.Items = append(out.Items, in.Instance)
	}
	return out, nil
}

// aggregatedInstances serves instances.aggregatedList: one page across
// every zone, each zone a scope with its instances or a NO_RESULTS_ON_PAGE warning.
func (s *Server) aggregatedInstances(rq *request) (any, *apiError) {
	p, e := parsePage(rq)
	if e != nil {
		return nil, e
	}
	zones, unreachables := s.reachable()
	all := s.matchingInstances(p.filter, zones)
	from, to, next := p.cut(len(all))
	out := instanceAggregatedList{Kind: "compute#instanceAggregatedList", ID: "projects/" + s.cfg.Project + "/aggregated/instances",
		Items: map[string]instancesScopedList{}, NextPageToken: next, Unreachables: unreachables,
		SelfLink: apiBase + "projects/" + s.cfg.Project + "/aggregated/instances"}
	for _, in := range all[from:to] {
		sc := out.Items["zones/"+in.zone]
		sc.Instances = append(sc.Instances, in.Instance)
		out.Items["zones/"+in.zone] = sc
	}
	for _, z := range zones {
		if _, ok := out.Items["zones/"+z]; !ok {
			out.Items["zones/"+z] = instancesScopedList{Warning: noResults("zones/" + z)}
		}
	}
	return out, nil
}

// listDisks serves disks.list.
func (s *Server) listDisks(rq *request) (any, *apiError) {
	p, e := parsePage(rq)
	if e != nil {
		return nil, e
	}
	all := s.matchingDisks(p.filter, []string{rq.zone})
	from, to, next := p.cut(len(all))
	out := diskList{Kind: "compute#diskList", ID: "projects/" + s.cfg.Project + "/zones/" + rq.zone + "/disks",
		NextPageToken: next, SelfLink: s.zoneLink(rq.zone) + "/disks"}
	for _, dk := range all[from:to] {
		out.Items = append(out.Items, dk.Disk)
	}
	return out, nil
}

// aggregatedDisks serves disks.aggregatedList.
func (s *Server) aggregatedDisks(rq *request) (any, *apiError) {
	p, e := parsePage(rq)
	if e != nil {
		return nil, e
	}
	zones, unreachables := s.reachable()
	all := s.matchingDisks(p.filter, zones)
	from, to, next := p.cut(len(all))
	out := diskAggregatedList{Kind: "compute#diskAggregatedList", ID: "projects/" + s.cfg.Project + "/aggregated/disks",
		Items: map[string]disksScopedList{}, NextPageToken: next, Unreachables: unreachables,
		SelfLink: apiBase + "projects/" + s.cfg.Project + "/aggregated/disks"}
	for _, dk := range all[from:to] {
		sc := out.Items["zones/"+dk.zone]
		sc.Disks = append(sc.Disks, dk.Disk)
		out.Items["zones/"+dk.zone] = sc
	}
	for _, z := range zones {
		if _, ok := out.Items["zones/"+z]; !ok {
			out.Items["zones/"+z] = disksScopedList{Warning: noResults("zones/" + z)}
		}
	}
	return out, nil
}
