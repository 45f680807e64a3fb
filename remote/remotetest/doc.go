// Package remotetest is the contract of the store the remote-write handler
// appends to (remote.Appendable and remote.Appender), as a test every
// implementation runs:
//
//	func TestAppendableContract(t *testing.T) {
//		remotetest.TestAppendable(t, func(t *testing.T) remotetest.Store {
//			s := newMyStore(t)
//			return remotetest.Store{Appendable: s, Samples: s.samples, Close: s.Close}
//		})
//	}
//
// Each clause of the contract is a Check that returns an error when the
// store breaks it, so a test can also prove that a deliberately broken store
// fails the clause it breaks. The package is imported by tests only.
package remotetest
