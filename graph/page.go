package graph

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/cloudplatform/cloud/graph/model"
)

// Page sizes: first defaults to DefaultPage and may not exceed MaxPage.
const (
	DefaultPage = 50
	MaxPage     = 500
)

// A cursor is opaque to clients: base64url of "v1:" and the key of the
// last item of the page (an ID, a name, a sequence number). Keys rather
// than offsets keep pages stable while items are added.
const cursorPrefix = "v1:"

// EncodeCursor makes the opaque cursor of a key.
func EncodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + key))
}

// DecodeCursor returns the key of a cursor ("" for none); arg names the
// argument in the error.
func DecodeCursor(arg string, cursor *string) (string, error) {
	if cursor == nil || *cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*cursor)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
		return "", inputErrorf(arg, "not a cursor returned by this API (pass pageInfo.endCursor of the previous page)")
	}
	return strings.TrimPrefix(string(b), cursorPrefix), nil
}

// pageSize checks first.
func pageSize(first *int) (int, error) {
	if first == nil {
		return DefaultPage, nil
	}
	if *first < 1 || *first > MaxPage {
		return 0, inputErrorf("first", "must be between 1 and "+strconv.Itoa(MaxPage))
	}
	return *first, nil
}

// paginate cuts one page out of items (sorted, keys unique): those after
// the item whose key the cursor holds. A cursor whose item is gone (it was
// deleted) starts after the first key greater than it, which is where
// that item was as long as the order is by key.
func paginate[T any](items []T, key func(T) string, first *int, after *string, byKey bool) ([]T, *model.PageInfo, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, nil, err
	}
	k, err := DecodeCursor("after", after)
	if err != nil {
		return nil, nil, err
	}
	start := 0
	if k != "" {
		start = len(items)
		for i, it := range items {
			if key(it) == k {
				start = i + 1
				break
			}
			if byKey && key(it) > k {
				start = i
				break
			}
		}
	}
	end := min(start+n, len(items))
	page := items[start:end]
	info := &model.PageInfo{HasNextPage: end < len(items)}
	if len(page) > 0 {
		c := EncodeCursor(key(page[len(page)-1]))
		info.EndCursor = &c
	}
	return page, info, nil
}
