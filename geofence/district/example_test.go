package district_test

import (
	"fmt"

	"github.com/borderwatch/borderwatch/geofence/district"
)

// The ports and the cleared routes a declaration can name.
func ExamplePorts() {
	for _, p := range district.Ports() {
		fmt.Printf("%s %s (%s), %d routes, feeders %v\n", p.ID, p.Name, p.Hours, len(p.Routes), p.Feeders)
	}
	// Output:
	// port-ceke 策克口岸 (09:00-17:30), 2 routes, feeders [road-ovoottolgoi-ceke]
	// port-ganqimaodu 甘其毛都口岸 (09:00-17:30), 3 routes, feeders [road-tavantolgoi-ganqimaodu road-oyutolgoi-ganqimaodu]
	// port-mandula 满都拉口岸 (09:00-17:30, March to November), 2 routes, feeders [road-khangi-mandula]
	// port-erenhot 二连浩特口岸 (09:00-17:30), 1 routes, feeders [road-zamynuud-erenhot]
	// port-zhuengadabuqi 珠恩嘎达布其口岸 (09:00-17:30), 2 routes, feeders [road-bichigt-zhuengadabuqi]
}

// Loading the default zones into an empty zone table.
func ExampleZones() {
	kinds := map[string]int{}
	for _, z := range district.Zones() {
		kinds[string(z.Kind)]++
	}
	fmt.Println(kinds)
	// Output:
	// map[border:1 control_zone:5 corridor:10 mine:4 port:5 service_area:12 yard:10]
}
