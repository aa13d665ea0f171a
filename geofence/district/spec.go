package district

import (
	"time"

	"github.com/paulmach/orb"
)

// ll makes a point from latitude and longitude, the order in which places are usually written.
func ll(lat, lon float64) orb.Point { return orb.Point{lon, lat} }

// Typical hours of a road port on this border, China Standard Time.
var dayHours = Hours{Open: 9 * time.Hour, Close: 17*time.Hour + 30*time.Minute}

// The district as specified by hand. Coordinates are estimates good to a few kilometres (the
// scenario's ≈ figures), except the crossings, which lie on the derived border line: each is
// the point of the line nearest to its port's seed. A deployment replaces all of this with the
// district's survey data through a zones import.
var portSpecs = []portSpec{
	{
		key: "ceke", name: "策克", nameEN: "Ceke",
		seed:   ll(42.567, 101.300),
		mnTown: place{"Shivee Khuren", ll(42.600, 101.290)},
		cnTown: place{"Ceke port town", ll(42.555, 101.295)},
		hours:  dayHours,
		yards: []yardSpec{
			{name: "策克口岸煤炭物流园", nameEN: "Ceke port coal logistics park",
				centre: ll(42.535, 101.325), w: 2500, h: 2000, road: "port access road"},
			{name: "额济纳旗物流园区", nameEN: "Ejin Banner logistics park",
				centre: ll(41.990, 101.100), w: 2000, h: 2000, road: "≈ Ceke–Dalaihob road",
				via: []orb.Point{ll(42.450, 101.250), ll(42.250, 101.170)}},
		},
		mines: []mineSpec{
			{key: "ovoottolgoi", name: "敖包特陶勒盖煤矿", nameEN: "Ovoot Tolgoi coal mine",
				centre: ll(43.018, 101.217), w: 5000, h: 4000, cargo: "煤炭", grade: "B", gradeName: "动力煤 (thermal coal)"},
			{key: "nariinsukhait", name: "纳林苏海图煤矿", nameEN: "Nariin Sukhait coal mine",
				centre: ll(42.960, 101.400), w: 6000, h: 4000, cargo: "煤炭", grade: "A", gradeName: "焦煤 (coking coal)"},
		},
		feeders: []feederSpec{
			{id: "road-ovoottolgoi-ceke", name: "Ovoot Tolgoi mine → Shivee Khuren → Ceke",
				line: []orb.Point{ll(43.018, 101.217)}},
		},
	},
	{
		key: "ganqimaodu", name: "甘其毛都", nameEN: "Ganqimaodu",
		seed:   ll(42.400, 107.570),
		mnTown: place{"Gashuun Sukhait", ll(42.415, 107.569)},
		cnTown: place{"Ganqimaodu port town", ll(42.392, 107.555)},
		hours:  dayHours,
		yards: []yardSpec{
			{name: "甘其毛都口岸煤炭物流园", nameEN: "Ganqimaodu port coal logistics park",
				centre: ll(42.372, 107.535), w: 3000, h: 2000, road: "port access road"},
			{name: "乌拉特中旗物流园区", nameEN: "Urad Middle Banner logistics park",
				centre: ll(41.600, 108.490), w: 2500, h: 2000, road: "≈ Ganqimaodu–Haliut road",
				via: []orb.Point{ll(42.200, 107.800), ll(41.900, 108.200)}},
			{name: "包头铜冶炼加工园区", nameEN: "Baotou copper processing park",
				centre: ll(40.680, 109.720), w: 2500, h: 2000, road: "≈ Ganqimaodu–Haliut–Guyang–Baotou",
				via: []orb.Point{ll(42.200, 107.800), ll(41.900, 108.200), ll(41.620, 108.550),
					ll(41.250, 109.350), ll(41.030, 110.060), ll(40.800, 109.900)}},
		},
		mines: []mineSpec{
			{key: "tavantolgoi", name: "塔温陶勒盖煤矿", nameEN: "Tavan Tolgoi coal mine",
				centre: ll(43.600, 105.500), w: 8000, h: 5000, cargo: "煤炭", grade: "A", gradeName: "焦煤 (coking coal)"},
			{key: "oyutolgoi", name: "奥尤陶勒盖铜金矿", nameEN: "Oyu Tolgoi copper-gold mine",
				centre: ll(43.010, 106.850), w: 6000, h: 5000, cargo: "铜精矿", grade: "Cu", gradeName: "铜精矿 (copper concentrate)"},
		},
		feeders: []feederSpec{
			{id: "road-tavantolgoi-ganqimaodu", name: "Tavan Tolgoi mine → Gashuun Sukhait → Ganqimaodu",
				line: []orb.Point{ll(43.600, 105.500), ll(43.200, 106.300), ll(42.750, 107.200)}},
			{id: "road-oyutolgoi-ganqimaodu", name: "Oyu Tolgoi mine → Gashuun Sukhait → Ganqimaodu",
				line: []orb.Point{ll(43.010, 106.850), ll(42.750, 107.200)}},
		},
	},
	{
		key: "mandula", name: "满都拉", nameEN: "Mandula",
		seed:   ll(42.630, 110.100),
		mnTown: place{"Khangi", ll(42.660, 110.085)},
		cnTown: place{"Mandula port town", ll(42.615, 110.095)},
		// Seasonal: the months are the demo's assumption, to be set from the port's notices.
		hours: Hours{Open: dayHours.Open, Close: dayHours.Close, Months: []time.Month{
			time.March, time.April, time.May, time.June, time.July, time.August, time.September,
			time.October, time.November}},
		yards: []yardSpec{
			{name: "满都拉口岸物流园", nameEN: "Mandula port logistics park",
				centre: ll(42.612, 110.075), w: 2000, h: 1500, road: "port access road"},
			{name: "达茂旗百灵庙物流园区", nameEN: "Darhan Muminggan Banner (Bailingmiao) logistics park",
				centre: ll(41.720, 110.420), w: 2000, h: 2000, road: "≈ Mandula–Bailingmiao road",
				via: []orb.Point{ll(42.200, 110.280)}},
		},
		feeders: []feederSpec{
			{id: "road-khangi-mandula", name: "Khangi → Mandula"},
		},
	},
	{
		key: "erenhot", name: "二连浩特", nameEN: "Erenhot",
		seed:   ll(43.690, 111.930),
		mnTown: place{"Zamyn-Üüd", ll(43.715, 111.905)},
		cnTown: place{"Erenhot city", ll(43.650, 111.983)},
		hours:  dayHours,
		yards: []yardSpec{
			{name: "二连浩特国际物流园区", nameEN: "Erenhot international logistics park",
				centre: ll(43.625, 111.935), w: 3000, h: 2500, road: "port access road"},
		},
		feeders: []feederSpec{
			{id: "road-zamynuud-erenhot", name: "Zamyn-Üüd → Erenhot"},
		},
	},
	{
		key: "zhuengadabuqi", name: "珠恩嘎达布其", nameEN: "Zhuengadabuqi",
		seed:   ll(45.762, 116.263),
		mnTown: place{"Bichigt", ll(45.778, 116.245)},
		cnTown: place{"Zhuengadabuqi port town", ll(45.745, 116.255)},
		hours:  dayHours,
		yards: []yardSpec{
			{name: "珠恩嘎达布其口岸物流园", nameEN: "Zhuengadabuqi port logistics park",
				centre: ll(45.735, 116.290), w: 2000, h: 1500, road: "port access road"},
			{name: "东乌珠穆沁旗物流园区", nameEN: "East Ujimqin Banner logistics park",
				centre: ll(45.530, 116.940), w: 2000, h: 2000, road: "≈ Zhuengadabuqi–Uliastai road",
				via: []orb.Point{ll(45.660, 116.550)}},
		},
		feeders: []feederSpec{
			{id: "road-bichigt-zhuengadabuqi", name: "Bichigt → Zhuengadabuqi"},
		},
	},
}

// Sizes of the generated zones, in metres.
const (
	portAlong        = 2000  // port area either side of the crossing along the border
	portIntoMongolia = 1000  // port area on the Mongolian side
	portIntoChina    = 4000  // port area on the Chinese side
	portInner        = 1500  // the port's inspection area, where corridors start, from the line
	controlRadius    = 20000 // control zone on the Chinese side around the crossing
	corridorWidth    = 500   // either side of a corridor's centre line
	serviceSize      = 400   // side of a service area
	serviceSpacing   = 100e3 // about one service area per this much corridor
	townLoopSize     = 800   // side of the square a resident's car drives around the port town
	townMargin       = 1200  // the town zone reaches this much beyond the residents' loop
)

type place struct {
	name string
	at   orb.Point
}

type portSpec struct {
	key          string // forms the IDs: port-<key>, yard-<key>-<n>, …
	name, nameEN string
	seed         orb.Point // the Chinese port, ≈
	mnTown       place     // the Mongolian port town, where feeders and resident loops start
	cnTown       place     // the Chinese port town, which resident loops visit
	hours        Hours
	yards        []yardSpec
	mines        []mineSpec
	feeders      []feederSpec
}

// mineSpec is a mine abroad whose trucks cross at the port: where they load, and the grade of
// what it yields (what a declaration's grade is compared with: risk's grade_origin).
type mineSpec struct {
	key, name, nameEN string
	centre            orb.Point
	w, h              float64 // metres east–west and north–south
	cargo             string
	grade, gradeName  string
}

type yardSpec struct {
	name, nameEN string
	centre       orb.Point
	w, h         float64     // metres east–west and north–south
	road         string      // what the corridor follows
	via          []orb.Point // corridor waypoints between the port and the yard
}

// feederSpec is a Mongolian road ending at a port: line, then the port's Mongolian town, then
// the crossing.
type feederSpec struct {
	id, name string
	line     []orb.Point
}
