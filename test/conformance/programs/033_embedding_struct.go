package main

import "fmt"

type Base struct {
	ID   int
	Name string
}

func (b Base) Describe() string { return fmt.Sprintf("%d:%s", b.ID, b.Name) }
func (b *Base) Rename(n string) { b.Name = n }

type User struct {
	Base
	Email string
}

type Admin struct {
	*User
	Level int
}

func (a Admin) Describe() string { return "admin " + a.User.Describe() }

func main() {
	u := User{Base{1, "ann"}, "ann@example.com"}
	fmt.Println(u.ID, u.Name, u.Describe())
	u.Rename("anna")
	fmt.Println(u.Base.Name)
	a := Admin{&u, 3}
	fmt.Println(a.Describe(), a.Email, a.ID)
	a.Rename("boss")
	fmt.Println(u.Name)
	fmt.Printf("%+v\n", u)
}
