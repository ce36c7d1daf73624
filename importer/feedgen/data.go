package feedgen

// The catalogue the generator draws products from: a small category tree
// with a product noun and a typical price per leaf, brands, colours and
// materials, in Russian (YML) and English (the other formats). Every string
// is encodable in windows-1251.

type category struct {
	id, parent int
	ru, en     string
	// Leaves only: what a product is called, its typical price in US
	// dollars, and its Google product category.
	nounRU, nounEN string
	basePrice      float64
	google         string
}

var categories = []category{
	{id: 1, ru: "Электроника", en: "Electronics"},
	{id: 2, parent: 1, ru: "Смартфоны", en: "Smartphones", nounRU: "Смартфон", nounEN: "Smartphone", basePrice: 420, google: "Electronics > Communications > Telephony > Mobile Phones"},
	{id: 3, parent: 1, ru: "Ноутбуки", en: "Laptops", nounRU: "Ноутбук", nounEN: "Laptop", basePrice: 890, google: "Electronics > Computers > Laptops"},
	{id: 4, parent: 1, ru: "Наушники", en: "Headphones", nounRU: "Наушники", nounEN: "Headphones", basePrice: 95, google: "Electronics > Audio > Audio Components > Headphones & Headsets"},
	{id: 5, parent: 1, ru: "Фотоаппараты", en: "Cameras", nounRU: "Фотоаппарат", nounEN: "Camera", basePrice: 640, google: "Cameras & Optics > Cameras > Digital Cameras"},
	{id: 6, ru: "Бытовая техника", en: "Appliances"},
	{id: 7, parent: 6, ru: "Чайники", en: "Kettles", nounRU: "Электрочайник", nounEN: "Electric kettle", basePrice: 35, google: "Home & Garden > Kitchen & Dining > Kitchen Appliances > Electric Kettles"},
	{id: 8, parent: 6, ru: "Пылесосы", en: "Vacuum cleaners", nounRU: "Пылесос", nounEN: "Vacuum cleaner", basePrice: 210, google: "Home & Garden > Household Appliances > Vacuums"},
	{id: 9, parent: 6, ru: "Кофемашины", en: "Coffee machines", nounRU: "Кофемашина", nounEN: "Coffee machine", basePrice: 380, google: "Home & Garden > Kitchen & Dining > Kitchen Appliances > Coffee Makers & Espresso Machines"},
	{id: 10, ru: "Одежда и обувь", en: "Apparel"},
	{id: 11, parent: 10, ru: "Кроссовки", en: "Sneakers", nounRU: "Кроссовки", nounEN: "Sneakers", basePrice: 120, google: "Apparel & Accessories > Shoes"},
	{id: 12, parent: 10, ru: "Куртки", en: "Jackets", nounRU: "Куртка", nounEN: "Jacket", basePrice: 160, google: "Apparel & Accessories > Clothing > Outerwear > Coats & Jackets"},
	{id: 13, parent: 10, ru: "Футболки", en: "T-shirts", nounRU: "Футболка", nounEN: "T-shirt", basePrice: 25, google: "Apparel & Accessories > Clothing > Shirts & Tops"},
	{id: 14, ru: "Детские товары", en: "Kids"},
	{id: 15, parent: 14, ru: "Конструкторы", en: "Building sets", nounRU: "Конструктор", nounEN: "Building set", basePrice: 60, google: "Toys & Games > Toys > Building Toys"},
}

// leaves are the categories products belong to.
var leaves = func() []category {
	var out []category
	for _, c := range categories {
		if c.nounEN != "" {
			out = append(out, c)
		}
	}
	return out
}()

var brands = []string{"Samsung", "Xiaomi", "Lenovo", "Bosch", "Philips", "Tefal", "Nike", "Adidas", "Canon", "Sony", "LEGO", "Redmond"}

var colors = []struct{ ru, en string }{
	{"черный", "black"}, {"белый", "white"}, {"серый", "grey"}, {"синий", "blue"},
	{"красный", "red"}, {"зеленый", "green"}, {"бежевый", "beige"},
}

var materials = []struct{ ru, en string }{
	{"пластик", "plastic"}, {"металл", "metal"}, {"хлопок", "cotton"}, {"стекло", "glass"}, {"кожа", "leather"},
}

var sizes = []string{"XS", "S", "M", "L", "XL", "XXL", "38", "40", "42", "44"}

var featuresRU = []string{
	"Гарантия производителя 2 года.",
	"Подходит для дома и офиса.",
	"Бесплатная доставка по России.",
	"Экономичный режим работы.",
	"Компактный корпус и тихая работа.",
}

var featuresEN = []string{
	"Two-year manufacturer warranty.",
	"Great for home & office.",
	"Free shipping on orders over $50.",
	"Energy-saving mode.",
	"Compact body, quiet operation.",
}
