package main

import "fmt"

func main() {
	ch := make(chan int, 1)
	ch <- 7
	var got int
	select {
	case got = <-ch:
	}
	fmt.Println("got", got)

	a := make(chan string)
	b := make(chan string)
	go func() { a <- "from a" }()
	msg := ""
	select {
	case msg = <-a:
	case msg = <-b:
	}
	fmt.Println(msg)

	quit := make(chan bool)
	data := make(chan int)
	go func() {
		for i := 0; i < 3; i++ {
			data <- i
		}
		quit <- true
	}()
	for done := false; !done; {
		select {
		case v := <-data:
			fmt.Println("data", v)
		case <-quit:
			done = true
		}
	}
	c := make(chan int, 1)
	select {
	case c <- 5:
		fmt.Println("sent")
	}
	v, ok := <-c
	fmt.Println(v, ok)
}
