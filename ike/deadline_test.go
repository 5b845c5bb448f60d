package ike

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lazyDeadline keeps context's contract: Err is nil until Done is closed,
// then says why; children see the deadline; no timer until Done.
func TestLazyDeadline(t *testing.T) {
	t.Run("expires", func(t *testing.T) {
		ctx, cancel := newLazyDeadline(time.Now().Add(20 * time.Millisecond))
		defer cancel()
		d, ok := ctx.Deadline()
		require.True(t, ok)
		assert.WithinDuration(t, time.Now().Add(20*time.Millisecond), d, 20*time.Millisecond)
		assert.NoError(t, ctx.Err())
		assert.Nil(t, ctx.(*lazyDeadline).timer, "no timer before anyone waits")
		waitClosed(t, ctx.Done(), "Done not closed at the deadline")
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	})
	t.Run("expires without a waiter", func(t *testing.T) {
		ctx, cancel := newLazyDeadline(time.Now().Add(time.Millisecond))
		defer cancel()
		time.Sleep(5 * time.Millisecond)
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Done open after Err reported the deadline")
		}
		assert.Nil(t, ctx.(*lazyDeadline).timer)
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := newLazyDeadline(time.Now().Add(time.Hour))
		done := ctx.Done()
		cancel()
		<-done
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
		cancel()
		assert.ErrorIs(t, ctx.Err(), context.Canceled, "a second cancel changes nothing")
	})
	t.Run("child", func(t *testing.T) {
		// What the trust package's revocation budget does with it.
		ctx, cancel := newLazyDeadline(time.Now().Add(20 * time.Millisecond))
		defer cancel()
		child, stop := context.WithDeadline(ctx, time.Now().Add(time.Hour))
		defer stop()
		d, _ := child.Deadline()
		assert.Equal(t, ctx.(*lazyDeadline).deadline, d, "the earlier deadline wins")
		waitClosed(t, child.Done(), "the child outlived its parent's deadline")
		assert.ErrorIs(t, child.Err(), context.DeadlineExceeded)
	})
	t.Run("canceled child", func(t *testing.T) {
		ctx, cancel := newLazyDeadline(time.Now().Add(time.Hour))
		child, stop := context.WithCancel(ctx)
		defer stop()
		cancel()
		waitClosed(t, child.Done(), "canceling the parent did not reach the child")
		assert.ErrorIs(t, child.Err(), context.Canceled)
	})
}

// waitClosed fails the test if done is not closed within five seconds.
func waitClosed(t *testing.T, done <-chan struct{}, msg string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal(msg)
	}
}
