package ui_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/ui"
	"github.com/liaison/liaison/internal/users"
)

// chromium is Debian's package: apt-get install -y chromium.
const chromium = "/usr/bin/chromium"

// The one browser of this test binary, started by the first test that
// needs it; each test gets a fresh browser context of its own (no cookies
// shared), as a private window would.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	dir    string
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
		os.RemoveAll(browser.dir)
	}
	os.Exit(code)
}

func startBrowser() {
	path := chromium
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath("chromium"); err != nil {
			browser.err = fmt.Errorf("the browser tests need Debian's chromium at %s: install it with apt-get install -y chromium", chromium)
			return
		}
	}
	if browser.dir, browser.err = os.MkdirTemp("", "liaison-chromium-"); browser.err != nil {
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.UserDataDir(browser.dir),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	browser.ctx, browser.cancel = ctx, func() { cancelCtx(); cancelAlloc() }
	browser.err = chromedp.Do(ctx)
}

// page is one test's tab on the app, in a browser context of its own.
type page struct {
	t *testing.T
	b *apptest.WebBundle
	// ctx bounds the test's steps; tab is the tab's own context, for
	// saving a failure's page once ctx ran out.
	ctx, tab context.Context
}

// openPage starts the app and a tab on it; on failure the tab's
// screenshot and HTML are saved into t.ArtifactDir().
func openPage(t *testing.T) *page {
	t.Helper()
	browser.once.Do(startBrowser)
	require.NoError(t, browser.err)
	return tabOn(t, setup(t))
}

// tabOn opens a tab on an app already started, in a browser context of
// its own (a second person, in a private window of their own).
func tabOn(t *testing.T, b *apptest.WebBundle) *page {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(tab))
	ctx, cancelT := context.WithTimeout(tab, 30*time.Second)
	t.Cleanup(cancelT)
	p := &page{t: t, b: b, ctx: ctx, tab: tab}
	t.Cleanup(func() {
		if t.Failed() {
			p.saveEvidence("failure")
		}
	})
	return p
}

func (p *page) run(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	require.NoError(p.t, chromedp.Do(p.ctx, steps...))
}

// get runs an action that reads something from the page.
func get[T any](p *page, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, a)
	require.NoError(p.t, err)
	return v
}

// visit opens a path of the app.
func (p *page) visit(path string) {
	p.t.Helper()
	p.run(chromedp.Navigate(p.b.URL + path))
}

// byLabel is the input the label with this text is for.
func byLabel(label string) string {
	return fmt.Sprintf(`//input[@id=//label[normalize-space()=%q]/@for]`, label)
}

// fill types value into the field labelled label, replacing what it held.
func (p *page) fill(label, value string) {
	p.t.Helper()
	p.run(chromedp.Clear(byLabel(label)), chromedp.SendKeys(byLabel(label), value))
}

// value is what the field labelled label holds.
func (p *page) value(label string) string {
	p.t.Helper()
	return get(p, chromedp.Value(byLabel(label)))
}

// click clicks the button or link with this text, and waits for the page
// it leads to.
func (p *page) click(text string) {
	p.t.Helper()
	sel := fmt.Sprintf(`//button[normalize-space()=%q] | //a[normalize-space()=%q]`, text, text)
	p.run(chromedp.WaitVisible(sel), chromedp.Click(sel))
}

// waitText waits until the page shows text.
func (p *page) waitText(text string) {
	p.t.Helper()
	p.run(chromedp.WaitVisible(fmt.Sprintf(`//body//*[contains(normalize-space(text()), %q)]`, text)))
}

// heading is the page's <h1>.
func (p *page) heading() string {
	p.t.Helper()
	return strings.TrimSpace(get(p, chromedp.Text("h1")))
}

// fieldError is the error shown under the field labelled label, through
// its aria-describedby ("" when none).
func (p *page) fieldError(label string) string {
	p.t.Helper()
	return get(p, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
		const label = [...document.querySelectorAll("label")].find(l => l.textContent.trim() === %q);
		const input = label && document.getElementById(label.htmlFor);
		const id = input && input.getAttribute("aria-describedby");
		if (!id || input.getAttribute("aria-invalid") !== "true") return "";
		return document.getElementById(id).textContent.trim();
	})()`, label)))
}

// signInAs signs in through the sign-in form and waits for the page it
// leads to: signed in (the main navigation) or refused (a field error).
func (p *page) signInAs(email, password string) {
	p.t.Helper()
	p.visit("/signin")
	p.fill("Email", email)
	p.fill("Password", password)
	p.click("Sign in")
	p.run(chromedp.WaitVisible(`//nav[@aria-label="Main"] | //p[@class="error"]`))
}

// signInNew makes a user with role and signs them in through the form.
func (p *page) signInNew(email string, role users.Role) {
	p.t.Helper()
	member(p.t, p.b, email, role)
	p.signInAs(email, testPassword)
}

// copied clicks the page's Copy button and returns what reached the real
// clipboard (the tab is granted the clipboard for it).
func (p *page) copied() string {
	p.t.Helper()
	c := chromedp.FromContext(p.tab)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := cdp.Call(p.ctx, c.Browser, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true}, Setting: cdpbrowser.PermissionSettingGranted,
			Origin: p.b.URL, BrowserContextID: c.BrowserContextID})
		require.NoError(p.t, err)
	}
	p.click("Copy")
	p.waitText("Copied")
	return get(p, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
}

// html is the page's HTML.
func (p *page) html() string {
	p.t.Helper()
	return get(p, chromedp.OuterHTML(chromedp.CSS("html")))
}

// path is the tab's path and query.
func (p *page) path() string {
	p.t.Helper()
	return strings.TrimPrefix(get(p, chromedp.Location()), p.b.URL)
}

// sessionCookie is the browser's session cookie for the app.
func (p *page) sessionCookie() string {
	p.t.Helper()
	res := get(p, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{p.b.URL}})
	})
	for _, c := range res.Cookies {
		if c.Name == ui.CookieName {
			return c.Value
		}
	}
	return ""
}

// width sets the viewport to a phone's width.
func (p *page) width(w int64) {
	p.t.Helper()
	p.run(chromedp.EmulateViewport(w, 800))
}

// scrollWidth is how wide the page's content is.
func (p *page) scrollWidth() int {
	p.t.Helper()
	return get(p, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
}

// screenshot saves the whole page as name.png into t.ArtifactDir() and
// returns the path.
func (p *page) screenshot(name string) string {
	p.t.Helper()
	png := get(p, chromedp.FullScreenshot(100))
	path := filepath.Join(p.t.ArtifactDir(), name+".png")
	require.NoError(p.t, os.WriteFile(path, png, 0o644))
	p.t.Logf("screenshot: %s", path)
	return path
}

// saveEvidence saves the screenshot and HTML of a failed test; it uses a
// context of its own, since the test's may be what ran out.
func (p *page) saveEvidence(name string) {
	ctx, cancel := context.WithTimeout(p.tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("could not save the page of the failure: %v", err)
		return
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML("html"))
	if err != nil {
		p.t.Logf("could not save the page of the failure: %v", err)
		return
	}
	dir := p.t.ArtifactDir()
	// A test with two people's tabs saves each: failure, failure-2.
	base := name
	for i := 2; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, name+".png")); err != nil {
			break
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	for file, b := range map[string][]byte{name + ".png": png, name + ".html": []byte(html)} {
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, b, 0o644); err == nil {
			p.t.Logf("saved %s", path)
		}
	}
}
