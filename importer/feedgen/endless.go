package feedgen

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// EndlessCSV serves a CSV feed that never ends: the header "id,name",
// then a row "i,item" every millisecond, each flushed as it is written,
// until the client goes away. It is for tests of a run that is cancelled
// or cut off while it reads.
func EndlessCSV(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "id,name\n")
	for i := 0; r.Context().Err() == nil; i++ {
		fmt.Fprintf(w, "%d,item\n", i)
		w.(http.Flusher).Flush()
		time.Sleep(time.Millisecond)
	}
}
