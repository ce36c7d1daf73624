package users

import "sync/atomic"

// CountComparisons makes s count its password comparisons into the counter
// it returns, so a test can see that an unknown email costs one too.
func CountComparisons(s *Service) *atomic.Int64 {
	var n atomic.Int64
	compare := s.compare
	s.compare = func(hash, password []byte) error {
		n.Add(1)
		return compare(hash, password)
	}
	return &n
}
