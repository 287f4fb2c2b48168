package kubeapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/watch"
)

// Snapshot is every object the API serves at one Raft index, by resource
// ID (Pods, Deployments, …). The objects belong to the cache once given.
type Snapshot struct {
	Index   uint64
	Objects map[string][]Object
}

// Source gives the cache the objects to serve.
type Source interface {
	// Snapshot builds the served objects at the store's current index.
	Snapshot() Snapshot
	// Wait returns once the store's index passes after, or ctx ends.
	Wait(ctx context.Context, after uint64)
	// Index is the store's current index.
	Index() uint64
}

// item is one object as served, with the index it last changed at (its
// resourceVersion, already set in obj) and the hash of its JSON without
// that resourceVersion, to tell a change from a copy.
type item struct {
	obj Object
	sum [sha256.Size]byte
}

// event is one change of one object, with the object before it (for
// MODIFIED and DELETED), which a watch with a selector needs to tell an
// object that leaves the selection.
type event struct {
	rv       uint64
	resource string
	typ      watch.EventType
	obj, old Object

	// raw is obj's JSON, encoded once for every watch that sends it as
	// stored (not as a Table, another version, or an opened Secret).
	once sync.Once
	raw  []byte
}

// json is the event's object as JSON, encoded on first use.
func (ev *event) json() []byte {
	ev.once.Do(func() { ev.raw, _ = json.Marshal(ev.obj) })
	return ev.raw
}

// cache holds the latest snapshot's objects and the recent changes,
// which watches follow. It starts on the first request (see start).
type cache struct {
	src      Source
	capacity int
	minPause time.Duration

	once   sync.Once
	ready  chan struct{} // closed when the first snapshot is in
	mu     sync.RWMutex
	loaded bool
	index  uint64
	items  map[string]map[string]*item
	events []*event // oldest first
	// A watch of a resource may start at any resourceVersion from the
	// first snapshot's index and from the newest of its dropped changes:
	// the changes of other resources (nodes' heartbeats) do not make a
	// pod watch's position too old.
	first   uint64
	dropped map[string]uint64
	changed chan struct{}
}

func newCache(src Source, capacity int) *cache {
	return &cache{src: src, capacity: capacity, minPause: 50 * time.Millisecond, ready: make(chan struct{}),
		items: map[string]map[string]*item{}, changed: make(chan struct{}), dropped: map[string]uint64{}}
}

// start runs the cache's loop under ctx (the server's), once.
func (c *cache) start(ctx context.Context, wg *sync.WaitGroup) {
	c.once.Do(func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx)
		}()
	})
}

// run takes a snapshot each time the store's index moves, at most once
// per twice the time the last one took (and minPause), until ctx ends.
func (c *cache) run(ctx context.Context) {
	for ctx.Err() == nil {
		start := time.Now()
		snap := c.src.Snapshot()
		c.update(snap)
		pause := max(c.minPause, 2*time.Since(start))
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		c.src.Wait(ctx, snap.Index)
	}
}

// update takes in a snapshot: each object that differs from the one held
// gets the snapshot's index as its resourceVersion and an event.
func (c *cache) update(snap Snapshot) {
	rv := strconv.FormatUint(snap.Index, 10)
	next := map[string]map[string]*item{}
	var evs []*event
	c.mu.RLock()
	first := !c.loaded
	prevIndex := c.index
	for _, r := range resources {
		if r.from != r.id {
			continue
		}
		prev := c.items[r.id]
		cur := make(map[string]*item, len(snap.Objects[r.id]))
		for _, o := range snap.Objects[r.id] {
			o.GetObjectKind().SetGroupVersionKind(r.gvk)
			o.SetResourceVersion("")
			data, _ := json.Marshal(o)
			sum := sha256.Sum256(data)
			key := objectKey(o)
			old := prev[key]
			if old != nil && old.sum == sum {
				cur[key] = old
				continue
			}
			o.SetResourceVersion(rv)
			cur[key] = &item{obj: o, sum: sum}
			ev := &event{rv: snap.Index, resource: r.id, typ: watch.Added, obj: o}
			if old != nil {
				ev.typ, ev.old = watch.Modified, old.obj
			}
			evs = append(evs, ev)
		}
		for key, old := range prev {
			if _, ok := cur[key]; !ok {
				gone := old.obj.DeepCopyObject().(Object)
				gone.SetResourceVersion(rv)
				evs = append(evs, &event{rv: snap.Index, resource: r.id, typ: watch.Deleted, obj: gone, old: old.obj})
			}
		}
		next[r.id] = cur
	}
	c.mu.RUnlock()
	if !first && snap.Index <= prevIndex && len(evs) > 0 {
		return // changes seen without a new index wait for the next one, so that no two batches share a resourceVersion
	}
	c.mu.Lock()
	c.items, c.index, c.loaded = next, max(snap.Index, prevIndex), true
	if first {
		c.first = snap.Index
	} else {
		c.events = append(c.events, evs...)
	}
	if over := len(c.events) - c.capacity; over > 0 {
		for _, ev := range c.events[:over] {
			c.dropped[ev.resource] = ev.rv
		}
		c.events = append([]*event(nil), c.events[over:]...)
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if first {
		close(c.ready)
	}
}

func objectKey(o Object) string { return o.GetNamespace() + "/" + o.GetName() }

// current returns the held objects of a resource and their index.
func (c *cache) current(id string) ([]Object, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Object, 0, len(c.items[id]))
	for _, it := range c.items[id] {
		out = append(out, it.obj)
	}
	return out, c.index
}

// get returns one held object.
func (c *cache) get(id, namespace, name string) (Object, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if it := c.items[id][namespace+"/"+name]; it != nil {
		return it.obj, c.index
	}
	return nil, c.index
}

// since returns the events after rv and a channel closed at the next
// change; gone reports that changes of the resource after rv were
// already dropped.
func (c *cache) since(rv uint64, resource string) (evs []*event, next <-chan struct{}, now uint64, gone bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if rv < c.first || rv < c.dropped[resource] {
		return nil, nil, c.index, true
	}
	i := len(c.events)
	for i > 0 && c.events[i-1].rv > rv {
		i--
	}
	return c.events[i:], c.changed, c.index, false
}

// awaitFirst waits for the first snapshot, or for ctx to end.
func (c *cache) awaitFirst(ctx context.Context) bool {
	select {
	case <-c.ready:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitIndex waits until the cache holds index or later, or ctx ends.
func (c *cache) waitIndex(ctx context.Context, index uint64) bool {
	for {
		c.mu.RLock()
		at, ch := c.index, c.changed
		c.mu.RUnlock()
		if at >= index {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		}
	}
}
