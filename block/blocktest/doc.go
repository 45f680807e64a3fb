// Package blocktest is the contract of what the block shipper needs of its
// source of data (block.Source, which the head implements), as a test every
// implementation runs:
//
//	func TestSourceContract(t *testing.T) {
//		blocktest.TestSource(t, func(t *testing.T) blocktest.Source {
//			h := openHead(t)
//			return blocktest.Source{Source: h, Append: h.Append, BlockDuration: 2 * time.Hour}
//		})
//	}
//
// Each clause of the contract is a Check that returns an error when the
// source breaks it, so a test can also prove that a deliberately broken
// source fails the clause it breaks. The package is imported by tests only.
package blocktest
