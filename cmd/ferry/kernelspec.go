package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// kernelSpec is a Jupyter kernel.json.
type kernelSpec struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode"`
	Env           map[string]string `json:"env,omitempty"`
	Metadata      map[string]any    `json:"metadata"`
}

func runKernelspecInstall(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kernelspec install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.Bool("user", false, "install for the current user (the default)")
	prefix := fs.String("prefix", "", "install under PREFIX/share/jupyter/kernels")
	name := fs.String("name", "ferry", "the kernel name")
	displayName := fs.String("display-name", "Go (Ferry)", "the name shown in launchers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user && *prefix != "" {
		return errors.New("kernelspec install: give --user or --prefix, not both")
	}
	var root string
	if *prefix != "" {
		root = filepath.Join(*prefix, "share", "jupyter", "kernels")
	} else {
		d, err := userJupyterDataDir()
		if err != nil {
			return err
		}
		root = filepath.Join(d, "kernels")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("kernelspec install: find the ferry binary: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return fmt.Errorf("kernelspec install: %w", err)
	}
	dir := filepath.Join(root, *name)
	if err := writeKernelSpec(dir, exe, *displayName); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Installed kernelspec %s in %s\n", *name, dir)
	return nil
}

// userJupyterDataDir is Jupyter's per-user data directory, as jupyter_core
// computes it.
func userJupyterDataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("kernelspec install: no home directory; use --prefix DIR: %w", err)
	}
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Jupyter"), nil
	case "windows":
		if a := os.Getenv("APPDATA"); a != "" {
			return filepath.Join(a, "jupyter"), nil
		}
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "jupyter"), nil
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

func writeKernelSpec(dir, exe, displayName string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("kernelspec install: %w", err)
	}
	spec := kernelSpec{
		Argv:          []string{exe, "kernel", "-f", "{connection_file}"},
		DisplayName:   displayName,
		Language:      "go",
		InterruptMode: "message",
		Metadata:      map[string]any{"debugger": false},
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{"kernel.json": append(b, '\n'), "logo-svg.svg": []byte(logoSVG)}
	for _, size := range []int{32, 64} {
		files[fmt.Sprintf("logo-%dx%d.png", size, size)] = logoPNG(size)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("kernelspec install: %w", err)
		}
	}
	return nil
}

const logoSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#00add8"/><path d="M10 40 L54 40 L46 50 L18 50 Z" fill="#fff"/><rect x="22" y="18" width="20" height="18" fill="#fff"/></svg>`

// logoPNG draws the Ferry logo (a white ferry on Go blue) at size×size.
func logoPNG(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	blue := color.NRGBA{0x00, 0xad, 0xd8, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	s := func(v int) int { return v * size / 64 }
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			c := blue
			switch {
			case y >= s(18) && y < s(36) && x >= s(22) && x < s(42): // cabin
				c = white
			case y >= s(40) && y < s(50): // hull, narrowing towards the keel
				in := (y - s(40)) * 8 / 10
				if x >= s(10)+in && x < s(54)-in {
					c = white
				}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}
